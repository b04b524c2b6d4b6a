// The ordering store's rules against a real Redis and real BullMQ jobs (queue/ordering-store.ts,
// docs/ordering.md): nothing at or above the watermark is released; only the released head
// passes the guard (a job promoted by hand does not); a head completed without the worker's
// release (a crash in between) is healed by the pass; the sequence is kept across releases.
import { Job, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { DeliveryQueues } from '../src/queue/delivery-queues.js';
import { deliveryJob } from '../src/queue/job.js';
import { OrderingStore, orderedAdds } from '../src/queue/ordering-store.js';
import { orderPosition, watermarkAfter, watermarkAt } from '../src/queue/ordering.js';
import { createRedis } from '../src/redis/client.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/lib/log.js';
import { useTestRedis } from './helpers/redis-server.js';

const { redis, cleanups } = useTestRedis();

async function setup(prefix: string) {
  const config = parseConfig({ REDIS_URL: redis().url, WSS_PREFIX: prefix });
  const client = createRedis(config, 'test', createLogger('silent'));
  const queues = new DeliveryQueues(client, prefix, config.layout);
  cleanups.push(async () => {
    await queues.close();
    client.disconnect();
  });
  const ref = queues.current[0]!;
  // healMs 0: every pass looks at every key again.
  const store = new OrderingStore(client, { prefix, ttlS: 3600, healMs: 0, cluster: false, now: Date.now });
  const keep = { dedupTtlMs: 60_000, keepCompleted: { count: 100, age: 3600 } };
  const ids = ['1765000000000-0', '1765000000000-1', '1765000000001-0'];
  const jobs = ids.map((entry, i) =>
    deliveryJob(
      { id: `e${i}`, tenant: 'acme', type: 't', createdAtMs: 1 },
      {
        endpoint: 'hook',
        body: '{}',
        retry: { attempts: 1, backoffMs: 10 },
        ordering: { key: 'k', pos: orderPosition(entry, 0, '') },
      },
      keep,
    ),
  );
  await ref.queue.addBulk(jobs);
  await store.add(ref, orderedAdds(jobs));
  const state = async (id: string) => (await Job.fromId(ref.queue, id))!.getState();
  return { client, ref, store, jobs, ids, state };
}

describe('ordering store', () => {
  it('releases below the watermark only, guards the head, heals a lost release, keeps sequences', async () => {
    const { client, ref, store, jobs, ids, state } = await setup('os1');
    const [a, b, c] = jobs.map((j) => j.opts.jobId) as [string, string, string];
    expect(await state(a)).toBe('delayed');

    // The first entry is still pending: nothing may go.
    await store.raiseWatermark(watermarkAt(ids[0]!));
    expect(await store.pass(ref)).toBe(0);
    expect(await state(a)).toBe('delayed');

    // Everything up to the last entry acknowledged: the head goes, alone.
    await store.raiseWatermark(watermarkAfter(ids[2]!));
    expect(await store.pass(ref)).toBe(1);
    expect(await state(a)).toBe('waiting');
    expect(await state(b)).toBe('delayed');
    expect(await store.guard(ref, a, jobs[0]!.data as never)).toBe(1);

    // b promoted by hand (Bull Board): the guard refuses it while a is the head.
    await (await Job.fromId(ref.queue, b))!.promote();
    expect(await store.guard(ref, b, jobs[1]!.data as never)).toBeUndefined();

    // a completes without the worker's release (it crashed): the pass heals it.
    const w = new Worker(ref.name, null, { connection: client, prefix: 'os1' });
    cleanups.push(() => w.close());
    const taken = (await w.getNextJob('tok'))!;
    expect(taken.id).toBe(a);
    await taken.moveToCompleted({ status: 200 }, 'tok', false);
    expect(await state(a)).toBe('completed');
    await store.pass(ref);
    expect(await store.guard(ref, b, jobs[1]!.data as never)).toBe(2);
    // A repeated release gives the same number.
    await store.pass(ref);
    expect(await store.guard(ref, b, jobs[1]!.data as never)).toBe(2);
    expect(await state(c)).toBe('delayed');
  });
});
