// wss_history_write_failures_total, which WssDeliveryLogWritesFailing alerts on: a delivery log
// write that Redis refuses is counted by its writer. The worker's lost line does not stop the
// delivery; the bridge's failed write keeps the batch unacknowledged (its jobs were already
// queued, so they are delivered once, as always) until Redis takes the write.
// Redis refuses the write for real: a key of the delivery log is made a string (WRONGTYPE).
import { describe, expect, it } from 'vitest';
import { eventMetaKey, settledStreamKey } from '../src/history/keys.js';
import { historyWriteFailures } from '../src/lib/metrics.js';
import { startBridge } from '../src/producers/bridge.js';
import { publishEvent } from '../src/queue/publish.js';
import { startWorker } from '../src/workers/worker.js';
import { endpoint, isolatedEnv, pendingCount, useBridgeTest, waitUntil } from './helpers/bridge-context.js';
import { startReceiver } from './helpers/receiver.js';

const { cleanups, context } = useBridgeTest();

async function failures(writer: 'worker' | 'bridge'): Promise<number> {
  return (await historyWriteFailures.get()).values.find((v) => v.labels.writer === writer)?.value ?? 0;
}

describe('delivery log writes refused by Redis', () => {
  it('are counted by writer; the worker still delivers, the bridge keeps its batch until the write succeeds', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const t = await context(isolatedEnv(), {
      tenants: [{ id: 'acme', endpoints: [endpoint('orders', { url: `${receiver.url}/o` })] }],
    });
    const worker = await startWorker(t.ctx);
    cleanups.push(() => worker.stop());
    const bridge = await startBridge(t.ctx);
    cleanups.push(() => bridge.stop());
    const keys = { prefix: t.config.prefix, layout: t.config.layout };
    const redis = t.ctx.redis;
    expect(await failures('worker')).toBe(0);
    expect(await failures('bridge')).toBe(0);

    // The worker's write of a settled delivery also appends to this stream: a string there fails it.
    await redis.set(settledStreamKey(keys, 'acme', 'orders', 'delivered'), 'not a stream');
    await publishEvent(redis, t.config.stream, { tenant: 'acme', type: 'order.paid', data: {}, id: 'e1' });
    await receiver.waitFor(1, 30_000);
    await waitUntil('the worker counts its failed write', async () => (await failures('worker')) === 1);
    expect(await failures('bridge')).toBe(0);

    // The bridge writes the event's record first: a string as the record index fails that.
    await redis.set(eventMetaKey(keys, 0), 'not a hash');
    await publishEvent(redis, t.config.stream, { tenant: 'acme', type: 'order.paid', data: {}, id: 'e2' });
    await waitUntil('the bridge counts its failed write', async () => (await failures('bridge')) >= 1);
    expect(await pendingCount(t)).toBe(1);
    await redis.del(eventMetaKey(keys, 0));
    await waitUntil('the batch acknowledged once its write succeeds', async () => (await pendingCount(t)) === 0);
    const [, second] = await receiver.waitFor(2, 30_000);
    expect(second!.headers['x-wss-event-id']).toBe('e2');
    expect(receiver.requests).toHaveLength(2);
  }, 90_000);
});
