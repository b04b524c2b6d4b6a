// Committing a planned batch, in the order that makes a crash at any point harmless:
// jobs first (addBulk per shard, deduplicated by job id and TTL), then the fair-share tags, then
// dead letters, then the delivery log, then (WSS_WAIT_REPLICAS) a WAIT for the replicas, then
// XACK. Each addBulk is one MULTI over one queue's keys: on a Redis Cluster a MULTI may only hold
// keys of one slot, hence one per shard. A crash before XACK leaves the entries pending;
// re-reading them adds no second job (and at most charges their flows twice, which only delays
// that tenant a little).
import type { RedisClient } from '../redis/client.js';
import type { Logger } from '../lib/log.js';
import { bridgeBatchSize, deadLettered, jobsEnqueued, unrouted } from '../lib/metrics.js';
import type { DeliveryQueues, QueueRef } from '../queue/delivery-queues.js';
import type { BulkJob } from '../queue/job.js';
import { deadLetterArgs } from './dead-letter.js';
import type { BatchPlan } from './plan-batch.js';
import type { StreamEntry } from '../redis/streams/stream-reply.js';
import { fairKeys, writeFairState } from '../queue/fair-state.js';
import { bridgeRecords } from '../history/bridge-records.js';
import type { HistoryStore } from '../history/store.js';
import type { ReplicaWaiter } from './wait-replicas.js';

const ADD_BULK_SLICE = 1_000;
const SLICES_IN_FLIGHT = 3;

export interface BridgeHooks {
  /** Runs before a batch is planned (crash tests: a process that dies on one entry). */
  beforePlan?: (entries: readonly StreamEntry[]) => void | Promise<void>;
  /** Runs after addBulk resolved and before dead letters and XACK (crash tests). */
  afterEnqueue?: (info: { entryIds: readonly string[]; jobIds: readonly string[] }) => Promise<void>;
}

export interface CommitTarget {
  queues: DeliveryQueues;
  /** The connection the queues were created with (it writes the jobs): WAIT must be sent on it. */
  queueRedis?: RedisClient | undefined;
  /** Non-blocking commands (XADD dead letter, XACK). */
  redis: RedisClient;
  stream: string;
  group: string;
  deadLetterStream: string;
  log: Logger;
  hooks?: BridgeHooks | undefined;
  /** The delivery log: what the bridge did with each event (docs/delivery-log.md). */
  history?: HistoryStore | undefined;
  now?: () => number;
  /** WSS_WAIT_REPLICAS: waits for replicas to have the batch's writes before XACK (unset: none). */
  replicas?: ReplicaWaiter | undefined;
}

/** The jobs grouped by their endpoint's shard, in the order first seen. */
export function jobsByShard(queues: DeliveryQueues, jobs: readonly BulkJob[]): Map<QueueRef, BulkJob[]> {
  const out = new Map<QueueRef, BulkJob[]>();
  for (const j of jobs) {
    const ref = queues.forEndpoint(j.data.tenant, j.data.endpoint);
    const list = out.get(ref);
    if (list) list.push(j);
    else out.set(ref, [j]);
  }
  return out;
}

export async function commitBatch(plan: BatchPlan, t: CommitTarget): Promise<void> {
  if (plan.ackIds.length === 0) return;
  // A read of 500 entries × 100 endpoints is 50,000 jobs: one addBulk of that size holds every
  // serialised job and the whole MULTI in memory at once, so jobs go in slices. A few slices are
  // in flight together, so serialising one overlaps Redis running the previous one.
  const inFlight: Array<Promise<unknown>> = [];
  for (const [ref, jobs] of jobsByShard(t.queues, plan.jobs)) {
    for (let i = 0; i < jobs.length; i += ADD_BULK_SLICE) {
      const p = ref.queue.addBulk(jobs.slice(i, i + ADD_BULK_SLICE));
      p.catch(() => {}); // rejections surface through the awaits below
      inFlight.push(p);
      if (inFlight.length >= SLICES_IN_FLIGHT) await inFlight.shift();
    }
  }
  await Promise.all(inFlight);
  if (plan.fair) {
    const { prefix, current } = t.queues;
    await Promise.all(
      [...plan.fair].map(([k, fair]) => writeFairState(t.redis, fairKeys(prefix, current[k]!.name), fair)),
    );
  }
  await t.hooks?.afterEnqueue?.({ entryIds: plan.ackIds, jobIds: plan.jobs.map((j) => String(j.opts.jobId)) });

  // Two steps, not a MULTI (none is needed): a failure here re-reads the
  // batch, which can repeat a dead letter (at least once) but never a job. XACK waits for the
  // dead letters: under maxmemory Redis refuses XADD (OOM) but still runs XACK, which would
  // acknowledge entries whose dead letter was never written.
  if (plan.dead.length > 0) {
    const p = t.redis.pipeline();
    for (const d of plan.dead) p.xadd(t.deadLetterStream, '*', ...deadLetterArgs(d));
    const failed = ((await p.exec()) ?? []).find(([err]) => err);
    if (failed) throw failed[0] as Error;
  }
  // A crash before XACK re-reads the batch and writes its records again (the reader keeps one
  // bridge record per event and tenant: idempotent).
  if (t.history?.enabled) {
    const at = (t.now ?? Date.now)();
    await t.history.append(bridgeRecords(plan, at), at);
  }
  // Last before XACK: everything the batch wrote, on the queues' connection and on ours.
  await t.replicas?.wait([t.queueRedis ?? t.redis, t.redis]);
  await t.redis.xack(t.stream, t.group, ...plan.ackIds);

  bridgeBatchSize.observe(plan.ackIds.length);
  jobsEnqueued.inc(plan.jobs.length);
  if (plan.unrouted > 0) unrouted.inc(plan.unrouted);
  for (const d of plan.dead) {
    deadLettered.inc({ kind: d.kind });
    // Routing fields only: the data body never goes to the log.
    t.log.warn(
      {
        entryId: d.entryId,
        kind: d.kind,
        reason: d.reason,
        tenant: d.fields['tenant'],
        type: d.fields['type'],
        endpoint: d.endpoint,
        deadLetterStream: t.deadLetterStream,
      },
      'bridge: entry dead-lettered',
    );
  }
  if (plan.vanished > 0)
    t.log.warn(
      { count: plan.vanished },
      'bridge: pending entries were deleted from the stream before delivery; acknowledged',
    );
}
