// Committing a planned batch, in the order that makes a crash at any point harmless:
// jobs first (addBulk per shard, deduplicated by job id and TTL), then together the fair-share
// tags, the ordering keys' queues and the delivery log's bridge records, then dead letters, then
// (WSS_WAIT_REPLICAS) a WAIT for the replicas. Only
// then does the bridge acknowledge the batch to its source, and report it (`reportBatch`). Each
// addBulk is one MULTI over one queue's keys: on a Redis Cluster a MULTI may only hold keys of
// one slot, hence one per shard. A crash before the acknowledgement leaves the messages to be
// read again; re-reading them adds no second job (and at most charges their flows twice, which
// only delays that tenant a little).
import type { RedisClient } from '../redis/client.js';
import type { Logger } from '../lib/log.js';
import { bridgeBatchSize, deadLettered, historyWriteFailures, jobsEnqueued, unrouted } from '../lib/metrics.js';
import type { FairShare, ShardJobs } from '../queue/fair-queues.js';
import { orderedAdds, type OrderingStore } from '../queue/ordering-store.js';
import { deadLetterArgs } from './dead-letter.js';
import type { BatchPlan } from './plan-batch.js';
import type { SourceMessage } from './sources/source.js';
import { bridgeRecords } from '../history/bridge-records.js';
import type { HistoryStore } from '../history/store.js';
import type { ReplicaWaiter } from './wait-replicas.js';

const ADD_BULK_SLICE = 1_000;
const SLICES_IN_FLIGHT = 3;

export interface BridgeHooks {
  /** Runs before a batch is planned (crash tests: a process that dies on one entry). */
  beforePlan?: (entries: readonly SourceMessage[]) => void | Promise<void>;
  /** Runs after the jobs and their tags, keys and records are written, before dead letters and the acknowledgement (crash tests). */
  afterEnqueue?: (info: { entryIds: readonly string[]; jobIds: readonly string[] }) => Promise<void>;
}

/** A planned batch whose jobs are grouped by shard, each with its fair-share priority (fair-queues.ts). */
export interface ShardedPlan extends Omit<BatchPlan, 'jobs'> {
  shards: readonly ShardJobs[];
}

export interface CommitTarget {
  /** Every write of the commit goes on this connection (the queues were created with it): WAIT is sent on it. */
  redis: RedisClient;
  fair: FairShare;
  deadLetterStream: string;
  log: Logger;
  hooks?: BridgeHooks | undefined;
  /** The delivery log: what the bridge did with each event (docs/delivery-log.md). */
  history?: HistoryStore | undefined;
  now?: () => number;
  /** Ordering keys' queues (queue/ordering-store.ts). */
  ordering?: OrderingStore | undefined;
  /** WSS_WAIT_REPLICAS: waits for replicas to have the batch's writes before the acknowledgement (unset: none). */
  replicas?: ReplicaWaiter | undefined;
}

export async function commitBatch(plan: ShardedPlan, t: CommitTarget): Promise<void> {
  if (plan.ackIds.length === 0) return;
  // A read of 500 entries × 100 endpoints is 50,000 jobs: one addBulk of that size holds every
  // serialised job and the whole MULTI in memory at once, so jobs go in slices. A few slices are
  // in flight together, so serialising one overlaps Redis running the previous one.
  const inFlight: Array<Promise<unknown>> = [];
  for (const { ref, jobs } of plan.shards) {
    for (let i = 0; i < jobs.length; i += ADD_BULK_SLICE) {
      const p = ref.queue.addBulk(jobs.slice(i, i + ADD_BULK_SLICE));
      p.catch(() => {}); // rejections surface through the awaits below
      inFlight.push(p);
      if (inFlight.length >= SLICES_IN_FLIGHT) await inFlight.shift();
    }
  }
  await Promise.all(inFlight);
  const jobs = plan.shards.flatMap((s) => s.jobs);
  // Three independent writes that need the jobs to exist, sent together (one round trip where
  // they were three in a row: at 1,000 events/s a batch is a few events, and the bridge's part
  // of a delivery's latency is its round trips). All must succeed before the acknowledgement.
  // - the flows' fair-share tags (a rebase moves the jobs' priorities);
  // - ordered jobs, added parked, into their keys' queues (docs/ordering.md), so a key's queue
  //   never names a job that does not exist yet;
  // - the delivery log's bridge records. A crash before the acknowledgement re-reads the batch
  //   and writes them again (the reader keeps one bridge record per event and tenant: idempotent).
  const { ordering, history } = t;
  const at = (t.now ?? Date.now)();
  await Promise.all([
    t.fair.commit(plan.shards),
    ordering ? Promise.all(plan.shards.map(({ ref, jobs }) => ordering.add(ref, orderedAdds(jobs)))) : undefined,
    history?.enabled
      ? history.append(bridgeRecords({ ...plan, jobs }, at), at).catch((e: unknown) => {
          historyWriteFailures.inc({ writer: 'bridge' });
          throw e;
        })
      : undefined,
  ]);
  await t.hooks?.afterEnqueue?.({ entryIds: plan.ackIds, jobIds: jobs.map((j) => String(j.opts.jobId)) });

  // Two steps, not a MULTI (none is needed): a failure here re-reads the batch, which can repeat
  // a dead letter (at least once) but never a job. The acknowledgement waits for the dead
  // letters: under maxmemory Redis refuses XADD (OOM) but would still take an XACK, which would
  // acknowledge entries whose dead letter was never written.
  if (plan.dead.length > 0) {
    const p = t.redis.pipeline();
    for (const d of plan.dead) p.xadd(t.deadLetterStream, '*', ...deadLetterArgs(d));
    const failed = ((await p.exec()) ?? []).find(([err]) => err);
    if (failed) throw failed[0] as Error;
  }
  // Last before the acknowledgement: everything the batch wrote.
  await t.replicas?.wait([t.redis]);
}

/** After the source acknowledged the batch: metrics, and a log line per dead letter. */
export function reportBatch(plan: ShardedPlan, t: Pick<CommitTarget, 'deadLetterStream' | 'log'>): void {
  if (plan.ackIds.length === 0) return;
  let jobs = 0;
  for (const s of plan.shards) jobs += s.jobs.length;
  bridgeBatchSize.observe(plan.ackIds.length);
  jobsEnqueued.inc(jobs);
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
