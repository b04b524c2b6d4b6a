// Ordering keys when a head fails for good (docs/ordering.md): with `continue` the key moves on
// and the gap shows in X-WSS-Sequence; with `block` only that key stops, and recovering or
// skipping the failed delivery releases it. Real Redis, bridge, worker and receiver.
import { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
import { publishEvent } from '../src/queue/publish.js';
import { blockedKeys, skipOrdered } from '../src/queue/ordering-admin.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { startDashboard } from '../src/dashboard/server.js';
import { basic } from './helpers/dashboard-context.js';
import { endpoint, isolatedEnv, useBridgeTest, waitUntil, type TestCtx } from './helpers/bridge-context.js';
import { sleep } from './helpers/context.js';
import { expectKeyOrder, orderReceiver, type OrderReceiver } from './helpers/ordering.js';

const { cleanups, context } = useBridgeTest();
const N = 12;
const PASSWORD = 'ordering-failure-password';

type Delivery = {
  ordering?: { key: string; sequence?: number; waitingBehind?: string; blockedBy?: string };
  delayReason?: string;
};
const deliveryOf = (json: Record<string, unknown>) =>
  (json['events'] as Array<{ deliveries: Delivery[] }>)[0]!.deliveries[0]!;

async function setup(ordering: Record<string, unknown>, fail: (key: string, i: number) => boolean) {
  let failing = fail;
  const o = await orderReceiver((h) => ({ status: failing(h.key!, h.i) ? 400 : 200 }));
  cleanups.push(() => o.rx.close());
  const t = await context(isolatedEnv({ WSS_CONCURRENCY: '8', WSS_DASHBOARD_PASSWORD: PASSWORD, PORT: '0' }), {
    tenants: [
      {
        id: 'acme',
        endpoints: [endpoint('hook', { url: `${o.rx.url}/hook`, retry: { attempts: 2, backoffMs: 10 }, ...ordering })],
      },
    ],
  });
  const dash = await startDashboard(t.ctx);
  const roles: RunningRole[] = [await startWorker(t.ctx), await startBridge(t.ctx), dash];
  cleanups.push(async () => {
    for (const r of roles.reverse()) await r.stop();
  });
  const api = async (path: string, body?: unknown) => {
    const res = await fetch(dash.url + path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return { o, t, api, heal: (f: typeof fail) => (failing = f) };
}

async function publish(t: TestCtx, keys: string[], withField: boolean): Promise<void> {
  for (let i = 0; i < N; i++)
    for (const k of keys)
      await publishEvent(t.ctx.redis, t.config.stream, {
        tenant: 'acme',
        type: 'x',
        id: `${k}-${i}`,
        data: { i, k },
        ...(withField ? { orderingKey: k } : {}),
      });
}

const deps = (t: TestCtx) => ({
  redis: t.ctx.redis,
  queues: t.queues,
  prefix: t.config.prefix,
  ttlS: t.config.orderingKeyTtlS,
  now: Date.now,
});

const seqsOf = (o: OrderReceiver, key: string) => o.ok(key).map((h) => h.seq);

describe('a head that fails for good', () => {
  it('continue (default), key from the endpoint expression: the key moves on, the gap is visible', async () => {
    const { o, t, heal } = await setup({ orderingKey: 'data.k' }, (k, i) => k === 'a' && i === 3);
    await publish(t, ['a', 'b'], false);
    await waitUntil('a and b delivered', () => o.ok('a').length === N - 1 && o.ok('b').length === N, 60_000);
    expectKeyOrder(o.hits, 'a', new Set([3]));
    expectKeyOrder(o.hits, 'b');
    // Event 3 of a had sequence 4 and failed: its successors go on from 5.
    expect(seqsOf(o, 'a')).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(seqsOf(o, 'b')).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    const failed = await Job.fromId(t.queue, 'acme.hook.a-3');
    expect(await failed?.getState()).toBe('failed');
    // Recovered after its key moved on: sent outside the key's order, with the sequence it had.
    heal(() => false);
    await failed!.retry('failed');
    await waitUntil('a-3 delivered', () => o.ok('a').length === N, 30_000);
    expect(o.ok('a').at(-1)).toMatchObject({ i: 3, seq: 4 });
  }, 120_000);

  it('block: only that key stops; recovering the delivery, or skipping it, releases the key', async () => {
    const { o, t, api, heal } = await setup(
      { ordering: { onFailure: 'block' } },
      (k, i) => (k === 'a' || k === 'c') && i === 3,
    );
    await publish(t, ['a', 'b', 'c'], true);
    await waitUntil('b delivered in full', () => o.ok('b').length === N, 60_000);
    await waitUntil('a and c blocked', async () => (await blockedKeys(deps(t))).length === 2, 30_000);
    await sleep(500);
    // Nothing of a or c after event 3 was sent.
    for (const k of ['a', 'c']) expect(Math.max(...o.hits.filter((h) => h.key === k).map((h) => h.i))).toBe(3);
    expect((await blockedKeys(deps(t))).map((b) => `${b.key} ${b.jobId}`).sort()).toEqual([
      'a acme.hook.a-3',
      'c acme.hook.c-3',
    ]);
    // A job that is not a blocked head cannot be skipped.
    await expect(skipOrdered(deps(t), 'acme.hook.a-5')).rejects.toThrow(/not the failed head/);
    expect((await api('/api/ordering/skip', { jobId: 'acme.hook.a-5' })).status).toBe(409);
    // The event page's API shows the key, the sequence, and what blocks or holds a delivery.
    const head = deliveryOf((await api('/api/events/c-3')).json);
    expect(head.ordering).toEqual({ key: 'c', sequence: 4, blockedBy: 'acme.hook.c-3' });
    const behind = deliveryOf((await api('/api/events/c-5')).json);
    expect(behind.ordering).toEqual({ key: 'c', waitingBehind: 'acme.hook.c-3', blockedBy: 'acme.hook.c-3' });
    expect(behind.delayReason).toMatch(/waiting behind acme\.hook\.c-3/);
    expect((await api('/api/ordering/blocked?tenant=acme&endpoint=hook')).json['blocked']).toHaveLength(2);

    // a: recovered once the receiver is fixed: sent again as the head, with its sequence.
    heal((k, i) => k === 'c' && i === 3);
    await (await Job.fromId(t.queue, 'acme.hook.a-3'))!.retry('failed');
    // c: skipped (through the admin API): stays failed, the key moves on with a gap.
    expect((await api('/api/ordering/skip', { jobId: 'acme.hook.c-3' })).json).toMatchObject({
      skipped: true,
      key: 'c',
    });
    await waitUntil('a and c delivered', () => o.ok('a').length === N && o.ok('c').length === N - 1, 60_000);
    expectKeyOrder(o.hits, 'a');
    expectKeyOrder(o.hits, 'c', new Set([3]));
    expect(seqsOf(o, 'a')).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(seqsOf(o, 'c')).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(await (await Job.fromId(t.queue, 'acme.hook.c-3'))!.getState()).toBe('failed');
    expect(await blockedKeys(deps(t))).toEqual([]);
  }, 120_000);
});
