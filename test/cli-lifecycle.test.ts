// Process lifecycle with the real CLI: SIGTERM during a load loses and cuts nothing, and a
// Redis restart is ridden out.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME } from './helpers/legacy-queue.js';
import { useTestRedis } from './helpers/redis-server.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { serviceEnv, runWss, spawnWss } from './helpers/wss-process.js';

const SECRET = 'lifecycle-secret-0123456789';
const { redis } = useTestRedis({ appendonly: true });
let receiver: Receiver;
const dir = mkdtempSync(join(tmpdir(), 'wss-life-'));

function env(name: string): Record<string, string> {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      tenants: [
        {
          id: 'acme',
          endpoints: [
            { id: 'slow', url: `${receiver.url}/${name}`, secret: SECRET, retry: { attempts: 5, backoffMs: 100 } },
          ],
        },
      ],
    }),
  );
  return serviceEnv(redis().url, `life-${name}`, {
    WSS_CONSUMER: `life-${name}-bridge`,
    WSS_STALLED_INTERVAL_MS: '1000',
    WSS_SHUTDOWN_GRACE_MS: '10000',
    WSS_HEALTH_PORT: '0',
    TENANTS_FILE: file,
  });
}

const eventIds = (path: string) =>
  new Set(receiver.requests.filter((r) => r.path === path && r.at).map((r) => r.headers['x-wss-event-id'] as string));

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
});

describe('lifecycle', () => {
  it('SIGTERM during a load: in-flight deliveries finish, exit 0, nothing lost', async () => {
    const e = env('term');
    const N = 60;
    receiver.setHandler(() => ({ status: 200, delayMs: 400 }));
    const svc = spawnWss(['start', '--role', 'bridge', '--role', 'worker'], e);
    await svc.waitForOutput(/webhook-sender started/);
    // XADD from here: a synchronous `wss publish` would freeze this process and its receiver.
    const producer = redis().client();
    for (let i = 0; i < N; i++)
      await producer.xadd(e.WSS_STREAM!, '*', 'tenant', 'acme', 'type', 't.x', 'data', `{"n":${i}}`, 'id', `term-${i}`);
    // Wait until deliveries are in flight, then stop the process in the middle of them.
    while (receiver.requests.filter((r) => r.path === '/term').length < 5) await new Promise((r) => setTimeout(r, 20));
    expect(await svc.kill('SIGTERM')).toBe(0);
    expect(receiver.cut()).toBe(0);
    const beforeRestart = eventIds('/term').size;
    expect(beforeRestart).toBeLessThan(N);

    // A new process picks up the rest; every event arrives.
    receiver.setHandler(() => ({ status: 200 }));
    const again = spawnWss(['start', '--role', 'bridge', '--role', 'worker'], e);
    try {
      await again.waitForOutput(/webhook-sender started/);
      const deadline = Date.now() + 30_000;
      while (eventIds('/term').size < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(eventIds('/term').size).toBe(N);
    } finally {
      expect(await again.kill('SIGTERM')).toBe(0);
    }
    const q = new Queue(QUEUE_NAME, { connection: { url: redis().url }, prefix: e.WSS_PREFIX });
    expect(await q.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed')).toEqual({
      completed: N,
      failed: 0,
      waiting: 0,
      active: 0,
      delayed: 0,
    });
    await q.close();
    expect(receiver.cut()).toBe(0);
  });

  it('Redis restarting (append-only file on): processes reconnect and delivery resumes', async () => {
    const e = env('restart');
    receiver.setHandler(() => ({ status: 200 }));
    const svc = spawnWss(['start', '--role', 'bridge', '--role', 'worker'], e);
    try {
      await svc.waitForOutput(/webhook-sender started/);
      runWss(['publish', '--tenant', 'acme', '--type', 't.x', '--data', '{"n":1}', '--id', 'before'], e);
      await receiver.waitFor(receiver.requests.length + 1);
      expect(eventIds('/restart').has('before')).toBe(true);

      await redis().stop();
      await new Promise((r) => setTimeout(r, 1500));
      await redis().start();

      const r = runWss(['publish', '--tenant', 'acme', '--type', 't.x', '--data', '{"n":2}', '--id', 'after'], e);
      expect(r.status).toBe(0);
      const deadline = Date.now() + 30_000;
      while (!eventIds('/restart').has('after') && Date.now() < deadline)
        await new Promise((res) => setTimeout(res, 50));
      expect(eventIds('/restart').has('after')).toBe(true);
      expect(svc.proc.exitCode).toBeNull();
      expect(svc.output()).toMatch(/reconnect/i);
    } finally {
      expect(await svc.kill('SIGTERM')).toBe(0);
    }
  });
});
