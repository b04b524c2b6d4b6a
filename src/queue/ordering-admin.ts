// Operator actions on ordering keys (docs/ordering.md), shared by the admin API and the CLI:
// skip a key's blocked head (it stays failed; the key moves on) and list the blocked keys.
import { Job } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import type { DeliveryQueues } from './delivery-queues.js';
import { WssError } from '../lib/errors.js';
import type { DeliveryJobData } from './job.js';
import { OrderingStore } from './ordering-store.js';
import { ORDER_HEAL_MS } from './ordering.js';

export class OrderingSkipError extends WssError {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
  ) {
    super('ORDERING_SKIP_REFUSED', message);
  }
}

export interface OrderingAdminDeps {
  redis: RedisClient;
  queues: DeliveryQueues;
  prefix: string;
  ttlS: number;
  now: () => number;
}

const storeOf = (d: OrderingAdminDeps) =>
  new OrderingStore(d.redis, {
    prefix: d.prefix,
    ttlS: d.ttlS,
    healMs: ORDER_HEAL_MS,
    cluster: d.queues.layout.cluster,
    now: d.now,
  });

/** Skips the failed head `jobId` of its ordering key: the delivery stays failed (recoverable), the next event of the key is released. */
export async function skipOrdered(d: OrderingAdminDeps, jobId: string): Promise<{ jobId: string; key: string }> {
  const ref = d.queues.forJobId(jobId);
  if (!ref) throw new OrderingSkipError(`"${jobId}" is not a delivery job id`, 400);
  const job = (await Job.fromId(ref.queue, jobId)) as Job<DeliveryJobData> | undefined;
  if (!job) throw new OrderingSkipError(`delivery ${jobId} not found`, 404);
  const o = job.data.ordering;
  if (!o) throw new OrderingSkipError(`delivery ${jobId} has no ordering key`, 409);
  const ok = await storeOf(d).skip(ref, job.data.tenant, job.data.endpoint, o.key, jobId);
  if (!ok) throw new OrderingSkipError(`delivery ${jobId} is not the failed head of its ordering key`, 409);
  return { jobId, key: o.key };
}

/** The blocked keys, optionally of one endpoint. */
export async function blockedKeys(
  d: OrderingAdminDeps,
  filter: { tenant?: string; endpoint?: string } = {},
): Promise<Array<{ key: string; jobId: string }>> {
  const prefix =
    filter.tenant === undefined ? '' : `${filter.tenant}.${filter.endpoint === undefined ? '' : `${filter.endpoint}.`}`;
  const store = storeOf(d);
  const out: Array<{ key: string; jobId: string }> = [];
  for (const ref of d.queues.current) out.push(...(await store.blocked(ref, prefix)));
  return out;
}
