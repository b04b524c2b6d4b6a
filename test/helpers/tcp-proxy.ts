// A TCP proxy on 127.0.0.1 in front of a real server (Redis), able to hold back everything the
// server sends while letting the client's commands through: a one-way network stall, as when a
// worker's replies are stuck in a congested or partitioned path. Nothing is dropped; release()
// delivers what was held, in order.
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  url: string;
  /** From now on, bytes from the server are kept back (the client's bytes still pass). */
  hold(): void;
  /** Delivers what was held and lets bytes through again. */
  release(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let holding = false;
  const pairs = new Set<{ client: Socket; upstream: Socket; held: Buffer[] }>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = { client, upstream, held: [] as Buffer[] };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (holding) pair.held.push(chunk);
      else client.write(chunk);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const p of pairs) for (const chunk of p.held.splice(0)) p.client.write(chunk);
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}
