// The bridge suites' context: the base context (context.ts) on its own stream, group and BullMQ
// prefix, with a seeded registry, the delivery queue to assert on, and small intervals so tests
// stay quick.
import type { Queue } from 'bullmq';
import { DeliveryQueues } from '../../src/queue/delivery-queues.js';
import type { DeliveryJobData } from '../../src/queue/job.js';
import { createBaseContext, type BaseContext } from './context.js';
import { useTestRedis, type TestRedisOptions, type UseTestRedis } from './redis-server.js';

export { waitUntil } from './context.js';

let counter = 0;

export interface TestCtx extends BaseContext {
  /** Every shard's queue (WSS_SHARDS). */
  queues: DeliveryQueues;
  /** Shard 1's queue: the only one with the default WSS_SHARDS=1. */
  queue: Queue<DeliveryJobData>;
}

/** A fresh stream, group and BullMQ prefix per call, so tests in one file never share state. */
export function isolatedEnv(extra: Record<string, string> = {}): Record<string, string> {
  const n = ++counter;
  return {
    WSS_STREAM: `t${n}:events`,
    WSS_GROUP: `t${n}-bridge`,
    WSS_PREFIX: `t${n}`,
    WSS_CONSUMER: 'c1',
    WSS_BLOCK_MS: '100',
    WSS_CLAIM_INTERVAL_MS: '100',
    WSS_CLAIM_IDLE_MS: '1000',
    WSS_REGISTRY_POLL_MS: '100',
    WSS_SHUTDOWN_GRACE_MS: '3000',
    WSS_ALLOW_PRIVATE_URLS: 'true',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

export async function makeCtx(redisUrl: string, env: Record<string, string>, tenants?: unknown): Promise<TestCtx> {
  const base = await createBaseContext(redisUrl, env, { tenants });
  // Outages are part of some tests; createRedis already logs them.
  const queues = new DeliveryQueues(base.ctx.redis, base.config.prefix, base.config.layout);
  return {
    ...base,
    queues,
    queue: queues.current[0]!.queue,
    async close() {
      await queues.close();
      await base.close();
    },
  };
}

export interface BridgeTest extends UseTestRedis {
  /** makeCtx on the file's Redis (or on `redisUrl`), closed after the test. */
  context(env: Record<string, string>, tenants?: unknown, redisUrl?: string): Promise<TestCtx>;
}

/** useTestRedis for a bridge suite: the contexts a test opens close after it. */
export function useBridgeTest(opts: TestRedisOptions = {}): BridgeTest {
  const base = useTestRedis(opts);
  return {
    ...base,
    async context(env, tenants, redisUrl) {
      const t = await makeCtx(redisUrl ?? base.redis().url, env, tenants);
      base.cleanups.push(() => t.close());
      return t;
    },
  };
}

export function endpoint(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, url: `http://127.0.0.1:9/${id}`, secret: `secret-${id}-0123456789`, ...extra };
}

/** Entries read by the group but not acknowledged. */
export async function pendingCount(t: TestCtx): Promise<number> {
  const summary = (await t.ctx.redis.xpending(t.config.stream, t.config.group)) as [number, ...unknown[]];
  return Number(summary[0]);
}

export async function deadLetters(t: TestCtx): Promise<Array<{ id: string; fields: Record<string, string> }>> {
  const entries = (await t.ctx.redis.xrange(t.config.deadLetterStream, '-', '+')) as Array<[string, string[]]>;
  return entries.map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    return { id, fields };
  });
}

/** Every job id in every shard's queue. */
export async function allJobIds(t: TestCtx): Promise<string[]> {
  const perQueue = await Promise.all(
    t.queues.current.map((r) =>
      r.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children']),
    ),
  );
  return perQueue
    .flat()
    .map((j) => j.id!)
    .sort();
}
