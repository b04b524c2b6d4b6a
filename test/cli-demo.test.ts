// `npm run demo` as a newcomer runs it, on a private Redis and a free receiver port.
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { freePort, useTestRedis } from './helpers/redis-server.js';
import { childEnv } from './helpers/wss-process.js';
import { tracked } from './helpers/children.js';

const DEMO = fileURLToPath(new URL('../dist/demo/demo.js', import.meta.url));
const { redis } = useTestRedis();

it('the demo delivers every event with a valid signature, one after a retry, and prints the dashboard credentials', async () => {
  const port = await freePort();
  const proc = tracked(
    spawn(process.execPath, [DEMO, '--once', '--receiver-port', String(port)], {
      env: childEnv({ REDIS_URL: redis().url }),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((res) => proc.once('exit', res));
  expect(code, out).toBe(0);
  expect(out).toMatch(/dashboard http:\/\/127\.0\.0\.1:\d+\/admin\/queues {2}user: admin {2}password: \S{8,}/);
  expect(out).toContain('(move it with --receiver-port)');
  const ok = out.split('\n').filter((l) => l.startsWith('receiver: OK'));
  expect(ok).toHaveLength(5);
  expect(ok.every((l) => l.includes('signature valid'))).toBe(true);
  expect(out).toMatch(/receiver: ERR 500 \/globex\/all +attempt 1/);
  expect(out).toMatch(/receiver: OK {2}200 \/globex\/all +attempt 2/);
  expect(out).toContain('body {"orderId":"o-1","status":"shipped"}');
  expect(out).not.toContain('INVALID');
});

/** A port held by another process's listener, as a newcomer's other service would hold 4000 or 3000. */
async function heldPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return { port: (server.address() as { port: number }).port, server };
}

it.each([
  ['the receiver port', (held: number) => ({ receiver: held, env: {} }), /--receiver-port/],
  [
    'the dashboard port (PORT)',
    (held: number, free: number) => ({ receiver: free, env: { PORT: String(held) } }),
    /PORT=\d+: the port is already in use/,
  ],
])('a taken port (%s) stops the demo with one line saying what to do, no stack trace', async (_what, setup, hint) => {
  const held = await heldPort();
  try {
    const { receiver, env } = setup(held.port, await freePort());
    const r = spawnSync(process.execPath, [DEMO, '--receiver-port', String(receiver)], {
      env: childEnv({ REDIS_URL: redis().url, WSS_PREFIX: 'demo-clash', WSS_STREAM: 'demo-clash:events', ...env }),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^demo: /);
    expect(lines[0]).toMatch(hint);
    expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /);
  } finally {
    held.server.close();
  }
});
