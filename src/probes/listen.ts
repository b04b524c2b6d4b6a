// Starts an HTTP server for an express app and stops it without waiting on idle keep-alive
// connections (a browser left open on the dashboard would otherwise hold shutdown).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { once } from '../lib/once.js';

export interface Listening {
  server: Server;
  port: number;
  /**
   * Where this machine reaches it: http://127.0.0.1:<port> when it listens on every interface
   * (no host, `0.0.0.0`, `::`), else http://<host>:<port>.
   */
  url: string;
  /** The address it listens on, for the logs: `127.0.0.1:3000`, `0.0.0.0:3001`, `[::]:3001`. */
  bound: string;
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
  const address = server.address() as AddressInfo;
  const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const everywhere = host === undefined || host === '0.0.0.0' || host === '::';
  return {
    server,
    port: address.port,
    url: `http://${everywhere ? '127.0.0.1' : bracket(host)}:${address.port}`,
    bound: `${bracket(address.address)}:${address.port}`,
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
