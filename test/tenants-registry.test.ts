// The registry lives in Redis; every process holds a snapshot that follows a version counter,
// so a change made anywhere reaches running processes without a restart.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTenantsFile } from '../src/tenants/schema.js';
import { Registry } from '../src/tenants/registry.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { useTestRedis } from './helpers/redis-server.js';
import { serviceEnv, runWss, spawnWss } from './helpers/wss-process.js';

const SECRET = 'registry-secret-0123456789';
const { redis } = useTestRedis();
let a: Receiver;
let b: Receiver;
const dir = mkdtempSync(join(tmpdir(), 'wss-registry-'));

beforeAll(async () => {
  a = await startReceiver();
  b = await startReceiver();
});
afterAll(async () => {
  await a.close();
  await b.close();
});

const file = (url: string, extra: Record<string, unknown> = {}) => ({
  tenants: [{ id: 'acme', endpoints: [{ id: 'orders', url, secret: SECRET, ...extra }] }],
});

describe('registry', () => {
  it("one process's write reaches another process's snapshot at its next poll", async () => {
    const writer = new Registry(redis().client(), 'reg-a');
    const reader = new Registry(redis().client(), 'reg-a');
    await writer.seed(parseTenantsFile(file('https://one.example/hook')), { replace: false, force: true });
    await reader.start(100);
    try {
      expect(reader.endpoint('acme', 'orders')?.config.url).toBe('https://one.example/hook');
      await writer.updateEndpoint('acme', 'orders', (ep) => ({
        ...ep,
        url: 'https://two.example/hook',
        enabled: false,
      }));
      const deadline = Date.now() + 5_000;
      while (reader.endpoint('acme', 'orders')?.config.url !== 'https://two.example/hook' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(reader.endpoint('acme', 'orders')?.config).toMatchObject({
        url: 'https://two.example/hook',
        enabled: false,
      });
      await writer.deleteEndpoint('acme', 'orders');
      while (reader.endpoint('acme', 'orders') !== undefined && Date.now() < deadline + 5_000)
        await new Promise((r) => setTimeout(r, 20));
      expect(reader.endpoint('acme', 'orders')).toBeUndefined();
    } finally {
      reader.stop();
    }
  });

  it('`wss seed` changes the URL a running service delivers to, within 5 s and without a restart', async () => {
    const env = serviceEnv(redis().url, 'reg-e2e', { WSS_HEALTH_PORT: '0' });
    const first = join(dir, 'first.json');
    writeFileSync(first, JSON.stringify(file(`${a.url}/hook`)));
    expect(runWss(['seed', first], env).status).toBe(0);
    const svc = spawnWss(['start', '--role', 'bridge', '--role', 'worker'], env);
    try {
      await svc.waitForOutput(/webhook-sender started/);
      const producer = redis().client();
      await producer.xadd(env.WSS_STREAM, '*', 'tenant', 'acme', 'type', 'x', 'data', '{"n":1}', 'id', 'before');
      await a.waitFor(1);

      const second = join(dir, 'second.json');
      writeFileSync(second, JSON.stringify(file(`${b.url}/hook`)));
      const seededAt = Date.now();
      expect(runWss(['seed', second], env).status).toBe(0);
      // Events published after the change go to the new URL once the service has seen it.
      let delivered = false;
      for (let i = 0; !delivered && Date.now() - seededAt < 5_000; i++) {
        await producer.xadd(
          env.WSS_STREAM,
          '*',
          'tenant',
          'acme',
          'type',
          'x',
          'data',
          `{"n":${i}}`,
          'id',
          `after-${i}`,
        );
        delivered = await b.waitFor(1, 250).then(
          () => true,
          () => false,
        );
      }
      expect(delivered).toBe(true);
      expect(b.requests[0]!.headers['x-wss-event-id']).toMatch(/^after-\d+$/);
    } finally {
      expect(await svc.kill('SIGTERM')).toBe(0);
    }
  });
});
