// Ordering keys with two bridges sharing the stream (docs/ordering.md): one bridge commits
// its batches after a random pause, so the other often commits later entries first. The
// watermark (the group's oldest pending entry) keeps every later event of a key waiting until
// the earlier one is committed: per key, delivery order and sequences follow the stream.
import { describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
import { publishEvent } from '../src/queue/publish.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { endpoint, isolatedEnv, useBridgeTest, waitUntil } from './helpers/bridge-context.js';
import { sleep } from './helpers/context.js';
import { expectKeyOrder, orderReceiver } from './helpers/ordering.js';

const { cleanups, context } = useBridgeTest();
const KEYS = 5;
const PER_KEY = 100;

describe('two bridges on one stream', () => {
  it('5 keys × 100 events, one bridge slow to commit, 30 % 503s: per key in stream order', async () => {
    const o = await orderReceiver(() => ({ status: Math.random() < 0.3 ? 503 : 200 }));
    cleanups.push(() => o.rx.close());
    const tenants = {
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
    };
    const env = isolatedEnv({ WSS_CONCURRENCY: '20', WSS_BATCH_SIZE: '7' });
    const a = await context({ ...env, WSS_CONSUMER: 'bridge-a' }, tenants);
    const b = await context({ ...env, WSS_CONSUMER: 'bridge-b' });
    // Everything is in the stream before the bridges start: both read at once.
    const writes: Array<Promise<string>> = [];
    for (let i = 0; i < PER_KEY; i++)
      for (let k = 0; k < KEYS; k++)
        writes.push(
          publishEvent(a.ctx.redis, a.config.stream, {
            tenant: 'acme',
            type: 'x',
            data: { i, k: `k${k}` },
            orderingKey: `k${k}`,
          }),
        );
    await Promise.all(writes);
    const commits = { a: 0, b: 0 };
    const roles: RunningRole[] = [
      await startWorker(a.ctx),
      // Bridge a holds each batch it read until bridge b committed a batch after it (or 300 ms
      // passed), then 100 ms more: b commits and acknowledges later entries of the same keys first.
      await startBridge(a.ctx, {
        hooks: {
          beforePlan: async () => {
            commits.a++;
            const seen = commits.b;
            const until = Date.now() + 300;
            while (commits.b === seen && Date.now() < until) await sleep(5);
            // Time for b to acknowledge and release what it committed.
            await sleep(100);
          },
        },
      }),
      await startBridge(b.ctx, { hooks: { afterEnqueue: async () => void commits.b++ } }),
    ];
    cleanups.push(async () => {
      for (const r of roles.reverse()) await r.stop();
    });
    await waitUntil(
      'every event delivered',
      () => new Set(o.ok().map((h) => `${h.key}/${h.i}`)).size === KEYS * PER_KEY,
      240_000,
    );
    // Both bridges took part.
    expect(commits.a).toBeGreaterThan(0);
    expect(commits.b).toBeGreaterThan(0);
    for (let k = 0; k < KEYS; k++) {
      expectKeyOrder(o.hits, `k${k}`);
      const firsts = new Map<number, number>();
      for (const h of o.ok(`k${k}`)) if (!firsts.has(h.i)) firsts.set(h.i, h.seq!);
      expect([...firsts.values()]).toEqual(Array.from({ length: PER_KEY }, (_, i) => i + 1));
    }
  }, 300_000);
});
