// Replay: the tenant's events of a time range, read again from where they are kept (a
// ReplayHistory, replay/history.ts: the Redis Stream, or a source that keeps them, e.g. the
// PostgreSQL outbox with WSS_OUTBOX_KEEP), planned with the bridge's own code (plan-batch →
// plan-fanout: today's subscriptions, filters and transforms) for one endpoint or all of the
// tenant's, and enqueued as new jobs marked `replay` (receivers see the original X-WSS-Event-Id
// plus X-WSS-Replay: true). Everything is read, checked and planned before the first job is added.
// Bounded: WSS_REPLAY_MAX_EVENTS events and WSS_REPLAY_MAX_DELIVERIES deliveries per replay,
// WSS_REPLAY_MAX_IN_FLIGHT replays per tenant.
import { randomBytes } from 'node:crypto';
import { WssError } from '../lib/errors.js';
import { replayJobId, type BulkJob, type DeliveryQueue } from '../queue/job.js';
import { planBatch, type PlanOptions } from '../producers/plan-batch.js';
import type { ExpressionRunner } from '../expressions/gate.js';
import { PRIORITY_LIMIT } from '../queue/fair-share.js';
import type { ReplayHistory } from '../producers/sources/source.js';
import type { RedisClient } from '../redis/client.js';
import type { CompiledEndpoint } from '../tenants/compile.js';
import type { DeliveryQueues } from '../queue/delivery-queues.js';
import {
  inFlightKeys,
  replayQueued,
  replaysInFlight,
  reserveReplay,
  type InFlightKeys,
  type InFlightReplay,
} from './in-flight.js';
import { iso } from '../lib/time-arg.js';

const ADD_BULK_SLICE = 1_000;
/** How many event ids and skipped deliveries an answer lists. */
const LISTED = 10;

/** The tenant has WSS_REPLAY_MAX_IN_FLIGHT replays in flight already (→ 429); nothing was queued. */
export class ReplayBusyError extends WssError {
  constructor(
    readonly tenant: string,
    readonly inFlight: readonly InFlightReplay[],
    max: number,
  ) {
    const list = inFlight.map((r) => `${r.replayId} (${r.deliveries} deliveries, started ${iso(r.atMs)})`).join(', ');
    super(
      'REPLAY_BUSY',
      `tenant "${tenant}" has ${inFlight.length} replay(s) in flight, the most WSS_REPLAY_MAX_IN_FLIGHT (${max}) allows: ${list}; a replay counts until each of its deliveries has settled (delivered, failed or cancelled)`,
    );
  }
}

/** A replay refused before anything was queued; `field` is the input it is about (→ 400). */
export class ReplayRefusedError extends WssError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('REPLAY_REFUSED', `field "${field}": ${message}`);
  }
}

interface ReplayRequest {
  tenant: string;
  /** One endpoint; undefined: every endpoint of the tenant. */
  endpoint?: string | undefined;
  fromMs: number;
  toMs: number;
  dryRun: boolean;
}

interface ReplayDeps {
  /** Where the tenant's past events are read. */
  history: ReplayHistory;
  /** The service's Redis: the in-flight records (in-flight.ts). */
  redis: RedisClient;
  /** The tenant's endpoints as the registry has them now. */
  endpoints: readonly CompiledEndpoint[];
  runner: ExpressionRunner;
  queues: DeliveryQueues;
  plan: PlanOptions;
  maxEvents: number;
  /** WSS_REPLAY_MAX_DELIVERIES: deliveries one replay may queue. */
  maxDeliveries: number;
  /** WSS_REPLAY_MAX_IN_FLIGHT: replays of one tenant in flight at once. */
  maxInFlight: number;
  /** The key prefix (WSS_PREFIX) the in-flight records go under. */
  prefix: string;
  now: () => number;
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
function newReplayId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** Refuses when the tenant has maxInFlight replays in flight (a dry run queues nothing: never refused). */
async function checkInFlight(deps: ReplayDeps, keys: InFlightKeys, tenant: string): Promise<void> {
  const inFlight = await replaysInFlight(deps.redis, keys, deps.now());
  if (inFlight.length >= deps.maxInFlight) throw new ReplayBusyError(tenant, inFlight, deps.maxInFlight);
}

export async function replay(deps: ReplayDeps, req: ReplayRequest): Promise<ReplayResult> {
  const inFlightKeysOf = inFlightKeys(deps.prefix, req.tenant);
  if (!req.dryRun) await checkInFlight(deps, inFlightKeysOf, req.tenant);
  const refused = await deps.history.refusal(req.fromMs);
  if (refused) throw new ReplayRefusedError('from', refused);
  const entries = await deps.history.read(req.tenant, req.fromMs, req.toMs, deps.maxEvents);
  if (entries.length > deps.maxEvents)
    throw new ReplayRefusedError(
      'from',
      `the range ${iso(req.fromMs)} .. ${iso(req.toMs)} holds more than ${deps.maxEvents} events of tenant "${req.tenant}" (WSS_REPLAY_MAX_EVENTS); narrow "from" and "to"`,
    );

  // A replay sends again what was sent: unordered (docs/ordering.md).
  const plan = await planBatch(
    entries,
    () => deps.endpoints,
    { ...deps.plan, ordered: false },
    { runner: deps.runner },
  );
  const replayId = req.dryRun ? undefined : (deps.newReplayId ?? newReplayId)();
  const jobs = plan.jobs.map((j) => replayJob(j, replayId ?? 'dry', deps.plan.dedupTtlMs));
  const firstEventIds: string[] = [];
  for (const j of jobs) {
    if (firstEventIds.length >= LISTED) break;
    if (!firstEventIds.includes(j.data.eventId)) firstEventIds.push(j.data.eventId);
  }
  if (jobs.length > deps.maxDeliveries)
    throw new ReplayRefusedError(
      'from',
      `the range ${iso(req.fromMs)} .. ${iso(req.toMs)} would queue ${jobs.length} deliveries of tenant "${req.tenant}", more than WSS_REPLAY_MAX_DELIVERIES (${deps.maxDeliveries}); narrow "from" and "to", or name one endpoint`,
    );
  if (!req.dryRun) await enqueueCounted(deps, inFlightKeysOf, req.tenant, replayId!, jobs);
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

/**
 * Records the replay as in flight (with its job keys), then queues its jobs. A replay started
 * meanwhile may have taken the last place: the finished ones are forgotten and it tries once more.
 */
async function enqueueCounted(
  deps: ReplayDeps,
  keys: InFlightKeys,
  tenant: string,
  replayId: string,
  jobs: readonly BulkJob[],
): Promise<void> {
  const jobKeys = jobs.map((j) => deps.queues.forEndpoint(j.data.tenant, j.data.endpoint).queue.toKey(j.opts.jobId));
  const reserve = () => reserveReplay(deps.redis, keys, { replayId, jobKeys, nowMs: deps.now() }, deps.maxInFlight);
  if (!(await reserve())) {
    await checkInFlight(deps, keys, tenant);
    if (!(await reserve()))
      throw new ReplayBusyError(tenant, await replaysInFlight(deps.redis, keys, deps.now()), deps.maxInFlight);
  }
  try {
    await enqueue(deps.queues, jobs);
  } finally {
    // Even when some jobs could not be added: those that were are what keeps it in flight.
    await replayQueued(deps.redis, keys, { replayId, deliveries: jobs.length, nowMs: deps.now() });
  }
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
