// Losslessness: a bridge that dies after addBulk but before XACK leaves its entries pending.
// The next bridge (same consumer, or another one via XAUTOCLAIM) re-reads them and adds no
// second job, even when the first jobs already completed and were removed.
//
// "Dies" is simulated in-process: the afterEnqueue hook never returns, so the first bridge is
// frozen exactly between addBulk and XACK; then its connections are closed.
import { describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../src/producers/bridge.js';
import type { RunningRole } from '../src/roles.js';
import { duplicateClient } from '../src/redis/client.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import {
  allJobIds,
  endpoint,
  isolatedEnv,
  makeCtx,
  pendingCount,
  waitUntil,
  useBridgeTest,
} from './helpers/bridge-context.js';

const { redis, cleanups, context } = useBridgeTest();

const tenants = (url = 'http://127.0.0.1:9') => ({
  tenants: [
    {
      id: 'acme',
      endpoints: [endpoint('a', { url: `${url}/a` }), endpoint('b', { url: `${url}/b`, events: ['order.*'] })],
    },
  ],
});
const EVENTS = 5;

async function running(b: RunningRole): Promise<RunningRole> {
  cleanups.push(() => b.stop());
  return b;
}

/** Publishes EVENTS events, runs a bridge that freezes after addBulk, and "kills" it. */
async function crashAfterEnqueue(
  env: Record<string, string>,
  t: unknown,
): Promise<{ jobIds: string[]; entryIds: string[] }> {
  const first = await makeCtx(redis().url, { ...env, WSS_SHUTDOWN_GRACE_MS: '200' }, t);
  const entryIds: string[] = [];
  for (let i = 0; i < EVENTS; i++) {
    entryIds.push(
      (await first.ctx.redis.xadd(
        first.config.stream,
        '*',
        'tenant',
        'acme',
        'type',
        'order.created',
        'data',
        `{"n":${i}}`,
        'id',
        `ev${i}`,
      )) as string,
    );
  }
  let enqueued: string[] | undefined;
  const frozen = await startBridge(first.ctx, {
    hooks: {
      afterEnqueue: (info) => {
        enqueued = [...info.jobIds];
        return new Promise<void>(() => {}); // never: the process "dies" here
      },
    },
  });
  await waitUntil('first bridge enqueued', () => enqueued !== undefined);
  expect(enqueued).toHaveLength(EVENTS * 2);
  await frozen.stop();
  await first.close();
  return { jobIds: enqueued!.sort(), entryIds };
}

describe('bridge killed after addBulk, before XACK', () => {
  it('leaves the entries pending; a restart re-reads them and adds no second job', async () => {
    const env = isolatedEnv();
    const { jobIds } = await crashAfterEnqueue(env, tenants());
    const t = await context(env, undefined);
    expect(await pendingCount(t)).toBe(EVENTS);
    expect(await allJobIds(t)).toEqual(jobIds);

    const bridge = (await running(await startBridge(t.ctx))) as RunningBridge;
    // XACK lands a tick before the bridge counts the batch: wait for both.
    await waitUntil(
      'pending entries acknowledged',
      async () => (await pendingCount(t)) === 0 && bridge.stats().entries >= EVENTS,
    );
    expect(bridge.stats().entries).toBe(EVENTS);
    expect(bridge.stats().claimed).toBe(0);
    expect(await allJobIds(t)).toEqual(jobIds);
    expect(await t.queue.count()).toBe(EVENTS * 2);
  });

  it('adds no second job even when the first jobs already completed and were removed', async () => {
    const env = isolatedEnv({ WSS_KEEP_COMPLETED_COUNT: '0' });
    const { jobIds } = await crashAfterEnqueue(env, tenants());
    const t = await context(env, undefined);
    // Complete every job with a plain BullMQ worker; removeOnComplete deletes them.
    const { Worker } = await import('bullmq');
    const done: string[] = [];
    const w = new Worker(t.queue.name, async (job) => void done.push(job.id!), {
      connection: duplicateClient(t.ctx.redis),
      prefix: t.config.prefix,
    });
    cleanups.push(() => w.close());
    await waitUntil('all jobs completed', () => done.length === EVENTS * 2);
    await waitUntil('completed jobs removed', async () => (await allJobIds(t)).length === 0);
    expect(done.sort()).toEqual(jobIds);

    const bridge = (await running(await startBridge(t.ctx))) as RunningBridge;
    // XACK lands a tick before the bridge counts the batch: wait for both.
    await waitUntil(
      'pending entries acknowledged',
      async () => (await pendingCount(t)) === 0 && bridge.stats().entries >= EVENTS,
    );
    expect(bridge.stats().entries).toBe(EVENTS);
    // Give the worker a chance to pick up anything that was (wrongly) added again.
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toHaveLength(EVENTS * 2);
    expect(await allJobIds(t)).toEqual([]);
    expect(await t.queue.getJobCounts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
  });

  it("another bridge claims the dead consumer's entries after they sat idle, without duplicates", async () => {
    const env = isolatedEnv();
    const { jobIds } = await crashAfterEnqueue(env, tenants());
    const t = await context({ ...env, WSS_CONSUMER: 'c2' }, undefined);
    const bridge = (await running(await startBridge(t.ctx))) as RunningBridge;
    await waitUntil('entries claimed and acknowledged', async () => (await pendingCount(t)) === 0, 15_000);
    expect(bridge.stats().claimed).toBe(EVENTS);
    expect(await allJobIds(t)).toEqual(jobIds);
    const consumers = (await t.ctx.redis.xinfo('CONSUMERS', t.config.stream, t.config.group)) as unknown[][];
    expect(consumers.length).toBe(2);
  });

  it('end to end: the receiver gets each event exactly once across the crash', async () => {
    const receiver: Receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const env = isolatedEnv({ WSS_KEEP_COMPLETED_COUNT: '0' });
    const { startWorker } = await import('../src/workers/worker.js');
    const t = await context(env, tenants(receiver.url));
    await running(await startWorker(t.ctx));
    const { jobIds } = await crashAfterEnqueue(env, undefined);
    await receiver.waitFor(EVENTS * 2);
    await waitUntil('jobs completed and removed', async () => (await allJobIds(t)).length === 0);

    const bridge = (await running(await startBridge(t.ctx))) as RunningBridge;
    // XACK lands a tick before the bridge counts the batch: wait for both.
    await waitUntil(
      'pending entries acknowledged',
      async () => (await pendingCount(t)) === 0 && bridge.stats().entries >= EVENTS,
    );
    expect(bridge.stats().entries).toBe(EVENTS);
    await new Promise((r) => setTimeout(r, 500));
    const seen = receiver.requests.map((r) => `acme.${r.path.slice(1)}.${String(r.headers['x-wss-event-id'])}`).sort();
    expect(seen).toEqual(jobIds);
  });
});
