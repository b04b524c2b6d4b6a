// Ordering keys end to end (docs/ordering.md): real Redis, bridge, worker and a receiver that
// answers 503 to about 30 % of requests at random. Per key, no event is sent before the earlier
// one was delivered, and X-WSS-Sequence follows the events; events without a key are unaffected.
import { describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
import { publishEvent } from '../src/queue/publish.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { endpoint, isolatedEnv, useBridgeTest, waitUntil, type TestCtx } from './helpers/bridge-context.js';
import { expectKeyOrder, orderReceiver } from './helpers/ordering.js';

const { cleanups, context } = useBridgeTest();

const KEYS = 5;
const PER_KEY = 200;
const UNKEYED = 50;

async function service(tenants: unknown, env: Record<string, string> = {}): Promise<TestCtx> {
  const t = await context(isolatedEnv({ WSS_CONCURRENCY: '20', ...env }), tenants);
  const roles: RunningRole[] = [await startWorker(t.ctx), await startBridge(t.ctx)];
  cleanups.push(async () => {
    for (const r of roles.reverse()) await r.stop();
  });
  return t;
}

describe('ordering keys end to end', () => {
  it('5 keys × 200 events, 30 % random 503s: per key in order with increasing sequences; unkeyed events unaffected', async () => {
    const o = await orderReceiver(() => ({ status: Math.random() < 0.3 ? 503 : 200 }));
    cleanups.push(() => o.rx.close());
    const t = await service({
      tenants: [
        {
          id: 'acme',
          endpoints: [
            endpoint('hook', {
              url: `${o.rx.url}/hook`,
              retry: { attempts: 40, backoffMs: 10 },
              circuit: { failures: 1000 },
            }),
          ],
        },
      ],
    });
    const writes: Array<Promise<string>> = [];
    for (let i = 0; i < PER_KEY; i++) {
      for (let k = 0; k < KEYS; k++)
        writes.push(
          publishEvent(t.ctx.redis, t.config.stream, {
            tenant: 'acme',
            type: 'x',
            data: { i, k: `k${k}` },
            orderingKey: `k${k}`,
          }),
        );
      if (i < UNKEYED)
        writes.push(publishEvent(t.ctx.redis, t.config.stream, { tenant: 'acme', type: 'x', data: { i } }));
    }
    await Promise.all(writes);
    await waitUntil('every event delivered', () => o.ok().length >= KEYS * PER_KEY + UNKEYED, 240_000);

    for (let k = 0; k < KEYS; k++) {
      const key = `k${k}`;
      expectKeyOrder(o.hits, key);
      // Nothing failed for good: the sequence is the event's place in its key, gapless, from 1.
      const ok = o.ok(key);
      const firsts = new Map<number, number>();
      for (const h of ok) if (!firsts.has(h.i)) firsts.set(h.i, h.seq!);
      expect([...firsts.keys()]).toEqual(Array.from({ length: PER_KEY }, (_, i) => i));
      expect([...firsts.values()]).toEqual(Array.from({ length: PER_KEY }, (_, i) => i + 1));
    }
    // Events without a key carry no ordering headers.
    const unkeyed = o.ok().filter((h) => h.key === undefined);
    expect(new Set(unkeyed.map((h) => h.i)).size).toBe(UNKEYED);
    expect(unkeyed.every((h) => h.seq === undefined)).toBe(true);
    // The 503s really happened, so the order held through retries.
    expect(o.hits.filter((h) => h.status === 503).length).toBeGreaterThan(KEYS * PER_KEY * 0.15);
    // Idle keys: their queues are gone, the live set is empty, and what remains (each key's
    // counter) expires after WSS_ORDERING_KEY_TTL_S.
    const r = t.ctx.redis;
    await waitUntil('ordering queues emptied', async () => (await r.keys(`${t.config.prefix}:ord:q:*`)).length === 0);
    await waitUntil('live set emptied', async () => (await r.zcard(`${t.config.prefix}:ord:live`)) === 0, 20_000);
    const states = await r.keys(`${t.config.prefix}:ord:s:*`);
    expect(states).toHaveLength(KEYS);
    for (const k of states) {
      const ttl = await r.ttl(k);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(t.config.orderingKeyTtlS);
    }
  }, 300_000);
});
