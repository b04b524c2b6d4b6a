// Ordering keys when a bridge dies holding a batch (docs/ordering.md): bridge a reads the first
// batch and never commits it (hung, as if killed); bridge b reads on, commits and acknowledges
// later events of the same keys, which must wait: the watermark stays at a's pending entries
// until b takes them over (WSS_CLAIM_IDLE_MS) and commits them. Per key, in stream order.
import { describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
import { publishEvent } from '../src/queue/publish.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { endpoint, isolatedEnv, useBridgeTest, waitUntil } from './helpers/bridge-context.js';
import { expectKeyOrder, orderReceiver } from './helpers/ordering.js';

const { cleanups, context } = useBridgeTest();
const KEYS = 3;
const PER_KEY = 30;

describe('a bridge that hangs on a batch', () => {
  it('later events of its keys wait until another bridge takes the batch over', async () => {
    const o = await orderReceiver(() => ({ status: 200 }));
    cleanups.push(() => o.rx.close());
    const tenants = { tenants: [{ id: 'acme', endpoints: [endpoint('hook', { url: `${o.rx.url}/hook` })] }] };
    const env = isolatedEnv({ WSS_BATCH_SIZE: '5', WSS_CLAIM_IDLE_MS: '1500', WSS_SHUTDOWN_GRACE_MS: '500' });
    const a = await context({ ...env, WSS_CONSUMER: 'bridge-a' }, tenants);
    const b = await context({ ...env, WSS_CONSUMER: 'bridge-b' });
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
    let held: string[] = [];
    let release: () => void = () => {};
    const hung = new Promise<void>((r) => (release = r));
    const roles: RunningRole[] = [
      await startWorker(a.ctx),
      // Bridge a takes the first batch and never gets further with it.
      await startBridge(a.ctx, {
        hooks: {
          beforePlan: async (m) => {
            if (held.length === 0) held = m.map((x) => x.id);
            await hung;
          },
        },
      }),
    ];
    await waitUntil('a holds the first batch', () => held.length > 0);
    roles.push(await startBridge(b.ctx));
    cleanups.push(async () => {
      release();
      for (const r of roles.reverse()) await r.stop();
    });
    await waitUntil('every event delivered', () => o.ok().length === KEYS * PER_KEY, 60_000);
    for (let k = 0; k < KEYS; k++) {
      expectKeyOrder(o.hits, `k${k}`);
      expect(o.ok(`k${k}`).map((h) => h.seq)).toEqual(Array.from({ length: PER_KEY }, (_, i) => i + 1));
    }
    // The held entries were the stream's first: every delivery came after b took them over.
    expect(held[0]).toBe((await a.ctx.redis.xrange(a.config.stream, '-', '+', 'COUNT', 1))[0]![0]);
  }, 120_000);
});
