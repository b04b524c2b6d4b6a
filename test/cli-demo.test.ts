// `npm run demo` as a newcomer runs it, on a private Redis and a free receiver port.
import { spawn } from 'node:child_process';
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
  const ok = out.split('\n').filter((l) => l.startsWith('receiver: OK'));
  expect(ok).toHaveLength(5);
  expect(ok.every((l) => l.includes('signature valid'))).toBe(true);
  expect(out).toMatch(/receiver: ERR 500 \/globex\/all +attempt 1/);
  expect(out).toMatch(/receiver: OK {2}200 \/globex\/all +attempt 2/);
  expect(out).toContain('body {"orderId":"o-1","status":"shipped"}');
  expect(out).not.toContain('INVALID');
});
