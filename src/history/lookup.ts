// Reads one event's status: its history record (one script call on the event id's shard) and,
// for each endpoint it names, the job in the queue of that endpoint's shard.
import { Job } from 'bullmq';
import { deliveryJobId, type DeliveryQueue } from '../queue/job.js';
import type { RedisClient } from '../redis/client.js';
import { eventView, groupLines, type EventStatus, type LiveJob } from './event-status.js';
import { decodeValues, droppedLines } from './lines.js';
import { delayReason, PARK_FIELD } from './delay-reason.js';
import type { HistoryStore } from './store.js';
import { orderingPosition } from '../queue/ordering-store.js';
import { queueKeyBase } from '../queue/delivery-queues.js';

export interface LookupDeps {
  store: HistoryStore;
  redis: RedisClient;
  /** The queue of the endpoint's shard. */
  queueFor(tenant: string, endpoint: string): DeliveryQueue;
  /** The tenant's endpoints in the registry, to find jobs the history has no line about yet. */
  endpointsOf(tenant: string): string[];
}

// BullMQ scores a delayed job by its due time × 0x1000 (getDelayedScore.lua).
const DELAYED_SCORE_FACTOR = 0x1000;

async function liveJob(d: LookupDeps, tenant: string, endpoint: string, eventId: string): Promise<LiveJob | undefined> {
  const queue = d.queueFor(tenant, endpoint);
  const id = deliveryJobId(eventId, tenant, endpoint);
  const job = await Job.fromId(queue, id);
  if (!job) return undefined;
  const s = await job.getState();
  const ord = job.data?.ordering;
  const ordering = ord && {
    key: ord.key,
    ...(await orderingPosition(d.redis, queueKeyBase(queue.opts.prefix ?? 'bull', queue.name), {
      id,
      tenant,
      endpoint,
      key: ord.key,
    })),
  };
  const known = { type: job.data?.type, createdAtMs: job.data?.createdAt, ...(ordering ? { ordering } : {}) };
  if (s === 'completed' || s === 'failed' || s === 'active') return { state: s, ...known };
  if (s === 'delayed') {
    const [score, parked] = await Promise.all([
      d.redis.zscore(queue.keys.delayed!, id),
      d.redis.hget(queue.toKey(id), PARK_FIELD),
    ]);
    const reason =
      ordering?.waitingBehind !== undefined
        ? `waiting behind ${ordering.waitingBehind}, an earlier event of its ordering key`
        : delayReason(parked, job.attemptsMade);
    return {
      state: 'delayed',
      ...known,
      ...(score === null ? {} : { nextAttemptAtMs: Math.floor(Number(score) / DELAYED_SCORE_FACTOR) }),
      ...(reason === undefined ? {} : { delayReason: reason }),
    };
  }
  if (s === 'unknown') return undefined;
  return { state: 'waiting', ...known };
}

/** Undefined when neither the history nor a queue knows the event (404). */
export async function lookupEvent(
  d: LookupDeps,
  eventId: string,
  opts: { tenant?: string } = {},
): Promise<EventStatus | undefined> {
  const values = d.store.enabled ? await d.store.read(eventId) : [];
  const lines = decodeValues(values);
  const tenants = groupLines(lines);
  if (opts.tenant !== undefined) {
    for (const t of [...tenants.keys()]) if (t !== opts.tenant) tenants.delete(t);
    // Jobs the history has not heard of (history off, or no attempt yet for a test event).
    if (!tenants.has(opts.tenant)) tenants.set(opts.tenant, { dead: new Map(), endpoints: new Map() });
    const draft = tenants.get(opts.tenant)!;
    // Without the bridge's record, any endpoint of the tenant may hold a job for the event.
    if (!draft.bridge)
      for (const e of d.endpointsOf(opts.tenant)) if (!draft.endpoints.has(e)) draft.endpoints.set(e, []);
  }
  const live = await Promise.all(
    [...tenants].map(async ([tenant, draft]) => {
      const endpoints = [...draft.endpoints.keys()];
      const jobs = await Promise.all(endpoints.map((e) => liveJob(d, tenant, e, eventId)));
      return new Map(endpoints.map((e, i) => [e, jobs[i]]));
    }),
  );
  // The lines again, read after the jobs: an attempt that ended between the first read and a job
  // seen completed is missing from the first read (its line is written before the job completes),
  // which showed a recovered delivery as still failed and stopped the event page refreshing.
  const again = d.store.enabled ? groupLines(decodeValues(await d.store.read(eventId))) : new Map();
  const events = [...tenants].map(([tenant, draft], i) => {
    const fresh = again.get(tenant);
    if (fresh) for (const [e, lines] of fresh.endpoints) if (draft.endpoints.has(e)) draft.endpoints.set(e, lines);
    return eventView(tenant, draft, live[i]!);
  });
  const found = events.filter((e) => e.bridge !== null || e.deliveries.length > 0);
  if (found.length === 0) return undefined;
  const dropped = droppedLines(values);
  return {
    eventId,
    events: found.sort((a, b) => a.tenant.localeCompare(b.tenant)),
    ...(dropped > 0 ? { droppedLines: dropped } : {}),
  };
}
