// Starts an HTTP server for an express app and stops it without waiting on idle keep-alive
// connections (a browser left open on the dashboard would otherwise hold shutdown).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { once } from '../lib/once.js';

export interface Listening {
  server: Server;
  port: number;
  /** http://127.0.0.1:<port> (the server listens on every interface unless given a host). */
  url: string;
  close(graceMs?: number): Promise<void>;
}

/** True for the error a listen() gives when another socket holds the port. */
export function addressInUse(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

export async function listen(app: Express, port: number, host?: string): Promise<Listening> {
  const server = createServer(app);
  // Long enough for a slow scrape; short enough that a stalled client cannot pin a socket.
  server.requestTimeout = 30_000;
  // Idle keep-alive sockets outlive a load balancer's or client's own idle timeout (60 s is the
  // common default): closing first would race a reused socket and answer its request with a
  // reset (seen as ECONNRESET by clients on a busy machine with Node's default of 5 s).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    close: once(
      (graceMs = 5_000) =>
        new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), graceMs);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        }),
    ),
  };
}
