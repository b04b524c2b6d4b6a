// A port on 127.0.0.1 in front of a real receiver that can play dead: in `refuse` mode it
// accepts each TCP connection and resets it at once (the client sees a connection error), and
// counts it; in `forward` mode it pipes connections to the receiver. The accept counter is how
// a test sees whether anything tried to reach the endpoint.
import { connect, createServer, type Socket } from 'node:net';

export interface SwitchPort {
  url: string;
  /** TCP connections accepted so far, in either mode. */
  accepts(): number;
  mode(m: 'refuse' | 'forward'): void;
  close(): Promise<void>;
}

export async function startSwitchPort(
  targetPort: number,
  initial: 'refuse' | 'forward' = 'refuse',
): Promise<SwitchPort> {
  let mode = initial;
  let accepts = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    accepts++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    accepts: () => accepts,
    mode(m) {
      mode = m;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}
