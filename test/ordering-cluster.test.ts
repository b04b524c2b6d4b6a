// Ordering keys on a real 3-master Redis Cluster with WSS_SHARDS=3 (docs/ordering.md): every
// key's state lives in its endpoint's shard slot, so the release scripts run there. A `wss`
// process (bridge + worker) delivers 3 keys × 40 events to one endpoint per shard while the
// receiver answers 503 to about 30 % of requests: per endpoint and key, in order.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publishEvent } from '../src/queue/publish.js';
import { clusterEnv, queueOf } from './helpers/cluster-service.js';
import { useTestCluster } from './helpers/redis-cluster.js';
import { expectKeyOrder, orderReceiver, type OrderReceiver } from './helpers/ordering.js';
import { runWss, spawnWss, type WssProcess } from './helpers/wss-process.js';

const cluster = useTestCluster({ masters: 3 });
const dir = mkdtempSync(join(tmpdir(), 'wss-ordering-cluster-'));
const children: WssProcess[] = [];
const receivers: OrderReceiver[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill('SIGKILL');
  for (const r of receivers.splice(0)) await r.rx.close();
});

const KEYS = ['a', 'b', 'c'];
const PER_KEY = 40;

describe('ordering keys on a Redis Cluster', () => {
  it('3 endpoints in 3 shards × 3 keys × 40 events, 30 % 503s: per endpoint and key in order', async () => {
    const c = cluster();
    const env = clusterEnv(c, 'ord', { LOG_LEVEL: 'warn', WSS_CONCURRENCY: '20' });
    const o = await orderReceiver(() => ({ status: Math.random() < 0.3 ? 503 : 200 }));
    receivers.push(o);
    const ids = ['ok', 'flaky', 'audit', 'c'];
    const endpoints = ids.filter((e, i) => ids.findIndex((x) => queueOf('acme', x) === queueOf('acme', e)) === i);
    expect(endpoints.length).toBe(3);
    const file = join(dir, 'tenants.json');
    writeFileSync(
      file,
      JSON.stringify({
        tenants: [
          {
            id: 'acme',
            endpoints: endpoints.map((id) => ({
              id,
              url: `${o.rx.url}/${id}`,
              secret: 'cluster-ordering-secret-0123',
              retry: { attempts: 40, backoffMs: 10 },
              circuit: { failures: 1000 },
            })),
          },
        ],
      }),
    );
    expect(runWss(['seed', file], env).status).toBe(0);
    const p = spawnWss(['start', '--role', 'bridge', '--role', 'worker'], { ...env, LOG_LEVEL: 'info' });
    children.push(p);
    await p.waitForOutput(/webhook-sender started/, 30_000);
    const client = c.client();
    for (let i = 0; i < PER_KEY; i++)
      for (const k of KEYS)
        await publishEvent(client, env['WSS_STREAM']!, { tenant: 'acme', type: 'x', data: { i, k }, orderingKey: k });
    const total = endpoints.length * KEYS.length * PER_KEY;
    const deadline = Date.now() + 180_000;
    while (new Set(o.ok().map((h) => `${h.path}/${h.key}/${h.i}`)).size < total) {
      if (Date.now() > deadline) throw new Error(`not all delivered: ${p.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const e of endpoints)
      for (const k of KEYS) {
        const hits = o.hits.filter((h) => h.path === `/${e}`);
        expectKeyOrder(hits, k);
        const firsts = new Map<number, number>();
        for (const h of hits) if (h.key === k && h.status < 300 && !firsts.has(h.i)) firsts.set(h.i, h.seq!);
        expect([...firsts.values()]).toEqual(Array.from({ length: PER_KEY }, (_, i) => i + 1));
      }
    expect(o.hits.some((h) => h.status === 503)).toBe(true);
  }, 300_000);
});
