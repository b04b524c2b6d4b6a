// Replay: the tenant's events of a time range, read again from where they are kept (a
// ReplayHistory: the Redis Stream, stream-window.ts, or a source that keeps them, e.g. the
// PostgreSQL outbox with WSS_OUTBOX_KEEP), planned with the bridge's own code (plan-batch →
// plan-fanout: today's subscriptions, filters and transforms) for one endpoint or all of the
// tenant's, and enqueued as new jobs marked `replay` (receivers see the original X-WSS-Event-Id
// plus X-WSS-Replay: true). Everything is read, checked and planned before the first job is added.
import { randomBytes } from 'node:crypto';
import { WssError } from '../lib/errors.js';
import { replayJobId, type BulkJob, type DeliveryQueue } from '../queue/job.js';
import { planBatch, type PlanOptions } from '../producers/plan-batch.js';
import type { ExpressionRunner } from '../producers/plan-fanout.js';
import { PRIORITY_LIMIT } from '../queue/fair-share.js';
import type { SourceMessage } from '../producers/sources/source.js';
import type { CompiledEndpoint } from '../tenants/compile.js';
import type { DeliveryQueues } from '../queue/delivery-queues.js';
import { iso } from './time-arg.js';

const ADD_BULK_SLICE = 1_000;
/** How many event ids and skipped deliveries an answer lists. */
export const LISTED = 10;

/** A replay refused before anything was queued; `field` is the input it is about (→ 400). */
export class ReplayRefusedError extends WssError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('REPLAY_REFUSED', `field "${field}": ${message}`);
  }
}

export interface ReplayRequest {
  tenant: string;
  /** One endpoint; undefined: every endpoint of the tenant. */
  endpoint?: string | undefined;
  fromMs: number;
  toMs: number;
  dryRun: boolean;
}

/** Where replay reads past events from. */
export interface ReplayHistory {
  /** Why a range starting at `fromMs` cannot be replayed in full (events of it are gone), or undefined. */
  refusal(fromMs: number): Promise<string | undefined>;
  /** The tenant's messages created in [fromMs, toMs], oldest first, at most `max` + 1 (one more says "over the cap"). */
  read(tenant: string, fromMs: number, toMs: number, max: number): Promise<SourceMessage[]>;
}

export interface ReplayDeps {
  history: ReplayHistory;
  /** The tenant's endpoints as the registry has them now. */
  endpoints: readonly CompiledEndpoint[];
  runner: ExpressionRunner;
  queues: DeliveryQueues;
  plan: PlanOptions;
  maxEvents: number;
  newReplayId?: () => string;
}

export interface ReplayResult {
  /** Undefined on a dry run. */
  replayId: string | undefined;
  dryRun: boolean;
  from: string;
  to: string;
  /** The tenant's events in the range. */
  events: number;
  /** Deliveries queued (or that a dry run would queue). */
  deliveries: number;
  /** The first LISTED event ids that get a delivery. */
  firstEventIds: string[];
  /** Deliveries not made: malformed entries, filter or transform failures, oversized bodies. */
  skipped: number;
  skippedExamples: Array<{ entryId: string; endpoint?: string | undefined; reason: string }>;
}

export function formatDuration(ms: number): string {
  if (ms > 0 && ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/** Short, unique enough per replay, and free of '.' and ':' (job ids). */
export function newReplayId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export async function replay(deps: ReplayDeps, req: ReplayRequest): Promise<ReplayResult> {
  const refused = await deps.history.refusal(req.fromMs);
  if (refused) throw new ReplayRefusedError('from', refused);
  const entries = await deps.history.read(req.tenant, req.fromMs, req.toMs, deps.maxEvents);
  if (entries.length > deps.maxEvents)
    throw new ReplayRefusedError(
      'from',
      `the range ${iso(req.fromMs)} .. ${iso(req.toMs)} holds more than ${deps.maxEvents} events of tenant "${req.tenant}" (WSS_REPLAY_MAX_EVENTS); narrow "from" and "to"`,
    );

  const plan = await planBatch(entries, () => deps.endpoints, deps.plan, { runner: deps.runner });
  const replayId = req.dryRun ? undefined : (deps.newReplayId ?? newReplayId)();
  const jobs = plan.jobs.map((j) => replayJob(j, replayId ?? 'dry', deps.plan.dedupTtlMs));
  const firstEventIds: string[] = [];
  for (const j of jobs) {
    if (firstEventIds.length >= LISTED) break;
    if (!firstEventIds.includes(j.data.eventId)) firstEventIds.push(j.data.eventId);
  }
  if (!req.dryRun) await enqueue(deps.queues, jobs);
  return {
    replayId,
    dryRun: req.dryRun,
    from: iso(req.fromMs),
    to: iso(req.toMs),
    events: entries.length,
    deliveries: jobs.length,
    firstEventIds,
    skipped: plan.dead.length,
    skippedExamples: plan.dead
      .slice(0, LISTED)
      .map((d) => ({ entryId: d.entryId, ...(d.endpoint ? { endpoint: d.endpoint } : {}), reason: d.reason })),
  };
}

/**
 * The bridge's job, re-identified and marked. Priority: the lowest, so a replay queues behind the
 * live deliveries already waiting instead of ahead of every tenant's; its retries are tagged
 * fairly by the worker like any other job's.
 */
function replayJob(j: BulkJob, replayId: string, dedupTtlMs: number): BulkJob {
  const id = replayJobId(j.data.eventId, j.data.tenant, j.data.endpoint, replayId);
  return {
    name: j.name,
    data: { ...j.data, replay: true },
    opts: { ...j.opts, jobId: id, deduplication: { id, ttl: dedupTtlMs }, priority: PRIORITY_LIMIT },
  };
}

/** addBulk per shard queue, in slices (a slice is one MULTI). */
async function enqueue(queues: DeliveryQueues, jobs: readonly BulkJob[]): Promise<void> {
  const byQueue = new Map<DeliveryQueue, BulkJob[]>();
  for (const j of jobs) {
    const queue = queues.forEndpoint(j.data.tenant, j.data.endpoint).queue;
    let list = byQueue.get(queue);
    if (!list) byQueue.set(queue, (list = []));
    list.push(j);
  }
  for (const [queue, list] of byQueue)
    for (let i = 0; i < list.length; i += ADD_BULK_SLICE) await queue.addBulk(list.slice(i, i + ADD_BULK_SLICE));
}
