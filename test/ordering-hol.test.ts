// Head-of-line blocking stays within a key (docs/ordering.md): one key's receiver path hangs for
// 10 s; the other keys of the same endpoint are all delivered, in order, while it hangs, and the
// hanging key's next event waits for it. Real Redis, bridge, worker and receiver.
import { describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
import { publishEvent } from '../src/queue/publish.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { endpoint, isolatedEnv, useBridgeTest, waitUntil } from './helpers/bridge-context.js';
import { expectKeyOrder, orderReceiver } from './helpers/ordering.js';

const { cleanups, context } = useBridgeTest();
const HANG_MS = 10_000;

describe('head-of-line only within a key', () => {
  it("one key's path hangs 10 s: every other key's events to the same endpoint arrive during the hang", async () => {
    const o = await orderReceiver((h) =>
      h.key === 'slow' && h.i === 0 ? { status: 200, delayMs: HANG_MS } : { status: 200 },
    );
    cleanups.push(() => o.rx.close());
    const t = await context(isolatedEnv({ WSS_CONCURRENCY: '8' }), {
      tenants: [{ id: 'acme', endpoints: [endpoint('hook', { url: `${o.rx.url}/hook`, timeoutMs: 30_000 })] }],
    });
    const roles: RunningRole[] = [await startWorker(t.ctx), await startBridge(t.ctx)];
    cleanups.push(async () => {
      for (const r of roles.reverse()) await r.stop();
    });
    const publish = (k: string, i: number) =>
      publishEvent(t.ctx.redis, t.config.stream, { tenant: 'acme', type: 'x', data: { i, k }, orderingKey: k });

    await publish('slow', 0);
    await publish('slow', 1);
    await waitUntil('the slow request arrived', () => o.hits.some((h) => h.key === 'slow'), 20_000);
    const hangStart = o.hits.find((h) => h.key === 'slow')!.at;
    const others = ['a', 'b', 'c', 'd'];
    for (let i = 0; i < 20; i++) for (const k of others) await publish(k, i);
    await waitUntil('the other keys delivered', () => others.every((k) => o.ok(k).length === 20), 60_000);
    const lastOther = Math.max(...others.flatMap((k) => o.ok(k).map((h) => h.at)));
    // All of them arrived while the slow key's first request was still hanging...
    expect(lastOther).toBeLessThan(hangStart + HANG_MS);
    // ...and the slow key's second event had not been sent.
    expect(o.hits.filter((h) => h.key === 'slow').map((h) => h.i)).toEqual([0]);
    for (const k of others) expectKeyOrder(o.hits, k);
    await waitUntil('the slow key goes on after its hang', () => o.ok('slow').length === 2, 40_000);
    expectKeyOrder(o.hits, 'slow');
    expect(o.ok('slow')[1]!.at).toBeGreaterThanOrEqual(hangStart + HANG_MS - 50);
  }, 120_000);
});
