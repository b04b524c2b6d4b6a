// Fair share over a layout's delivery queues: the one entry point for everything that sets a
// job's fair-share priority. It joins the pure planner (fair-share.ts) and its state in Redis
// (fair-state.ts), one state per queue, because each queue (shard) orders only its own jobs.
// - The bridge: `plan` groups a batch's jobs by shard, reads each shard's state once, and gives
//   every job its priority; `commit` writes the flows' tags once the jobs exist.
// - A retry (worker) or a recover: `retagForRetry` gives the job a fresh start tag behind its flow.
// Design and bound: docs/isolation.md.
import type { RedisClient } from '../redis/client.js';
import type { DeliveryQueues, QueueRef } from './delivery-queues.js';
import { assignPriorities, fieldsToRead, flowField, type FairPlan } from './fair-share.js';
import { fairKeys, readFairState, readFlowLags, retagJob, writeFairState } from './fair-state.js';
import type { BulkJob } from './job.js';

/** One shard's share of a batch: its jobs, with their priorities, and the tags to write after them. */
export interface ShardJobs {
  ref: QueueRef;
  jobs: BulkJob[];
  fair: FairPlan;
}

export class FairShare {
  constructor(
    private readonly redis: RedisClient,
    private readonly queues: DeliveryQueues,
  ) {}

  /**
   * The batch's jobs grouped by their endpoint's shard (in shard order; jobs in the order given),
   * each with its priority. `endpointsOf`: every endpoint id of a tenant (its share in a shard
   * counts its endpoints in that shard).
   */
  async plan(jobs: readonly BulkJob[], endpointsOf: (tenant: string) => string[]): Promise<ShardJobs[]> {
    const { queues } = this;
    const single = queues.current.length === 1;
    const shards = await Promise.all(
      [...groupByShard(queues, jobs)].map(async ([ref, own]) => {
        const ids = single
          ? endpointsOf
          : (tenant: string) => endpointsOf(tenant).filter((e) => queues.forEndpoint(tenant, e) === ref);
        const state = await readFairState(this.redis, fairKeys(queues.prefix, ref.name), fieldsToRead(own, ids));
        const fair = assignPriorities(own, state, ids);
        return { ref, jobs: fair.jobs, fair };
      }),
    );
    return shards.sort((a, b) => a.ref.shard! - b.ref.shard!);
  }

  /**
   * Each flow's lag (fair-state.ts readFlowLags), by flowField: about how many jobs are queued
   * ahead of the flow's next one, in its tenant's rounds; absent: none. One read per shard.
   */
  async lags(flows: Iterable<{ tenant: string; endpoint: string }>): Promise<Map<string, number>> {
    const { queues } = this;
    const byShard = new Map<QueueRef, string[]>();
    for (const { tenant, endpoint } of flows) {
      const ref = queues.forEndpoint(tenant, endpoint);
      const list = byShard.get(ref) ?? [];
      list.push(flowField(tenant, endpoint));
      byShard.set(ref, list);
    }
    const out = new Map<string, number>();
    await Promise.all(
      [...byShard].map(async ([ref, fields]) => {
        for (const [f, lag] of await readFlowLags(this.redis, fairKeys(queues.prefix, ref.name), fields))
          out.set(f, lag);
      }),
    );
    return out;
  }

  /** After the jobs exist: the flows' new finish tags (max-merged), and a rebase when one is due. */
  async commit(shards: readonly ShardJobs[]): Promise<void> {
    await Promise.all(shards.map((s) => writeFairState(this.redis, fairKeys(this.queues.prefix, s.ref.name), s.fair)));
  }
}

/**
 * A job about to be retried (a worker's retry, a recover) gets a fresh start tag behind its
 * flow's queued jobs, in the fair-share state of the queue it is in (its shard's, or an old
 * layout's). Returns the new priority (0: the job has none).
 */
export function retagForRetry(
  redis: RedisClient,
  prefix: string,
  queueName: string,
  job: { id: string; tenant: string; endpoint: string },
): Promise<number> {
  return retagJob(redis, fairKeys(prefix, queueName), job);
}

function groupByShard(queues: DeliveryQueues, jobs: readonly BulkJob[]): Map<QueueRef, BulkJob[]> {
  const out = new Map<QueueRef, BulkJob[]>();
  for (const j of jobs) {
    const ref = queues.forEndpoint(j.data.tenant, j.data.endpoint);
    const list = out.get(ref);
    if (list) list.push(j);
    else out.set(ref, [j]);
  }
  return out;
}
