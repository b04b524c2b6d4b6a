// The delivery job: what the bridge enqueues and the worker reads. No secret, no URL: the
// worker looks the endpoint up in the registry at send time. Also the one owner of the job id's
// shape: every module that builds a job id or reads tenant and endpoint back out of one calls
// the functions here. The queues themselves (one per shard) are in delivery-queues.ts.
import type { JobsOptions, Queue } from 'bullmq';
import type { WssEvent } from './event.js';
import type { TraceCarrier } from '../tracing/types.js';
import { PARK_MS, type OrderingData } from './ordering.js';

export const JOB_NAME = 'deliver';
const BACKOFF_TYPE = 'wss';

export interface DeliveryJobData {
  eventId: string;
  tenant: string;
  endpoint: string;
  type: string;
  /** Event creation time (ms since epoch), for end-to-end lag. */
  createdAt: number;
  /** The exact bytes sent on every attempt. */
  body: string;
  /** The event's priority class when not `normal` (the bridge's fair-share order, docs/isolation.md). */
  priority?: 'high' | 'low';
  /** Sent again from the stream by a replay (docs/delivery-log.md): receivers get `X-WSS-Replay: true`. */
  replay?: true;
  /**
   * The bridge span's W3C trace context (docs/observability.md), set only with tracing on:
   * every attempt is a span under it. Two random ids and a flag: never a secret.
   */
  trace?: TraceCarrier;
  /** An ordered delivery (docs/ordering.md): its key and source position. Added parked. */
  ordering?: OrderingData;
}

/** What a completed job keeps (its return value), for the dashboard. */
export interface DeliveryResult {
  status: number;
  ms: number;
  attempt: number;
  snippet: string;
}

/**
 * `<tenant>.<endpoint>.<eventId>`. Deterministic, so re-reading a stream entry adds nothing
 * twice (the deduplication id is the same string). Unambiguous: tenant and endpoint ids never
 * contain '.', so the first two dots always split off tenant and endpoint, whatever the event
 * id holds. BullMQ forbids ':' (event ids cannot contain one either).
 */
export function deliveryJobId(eventId: string, tenant: string, endpoint: string): string {
  return `${tenant}.${endpoint}.${eventId}`;
}

/**
 * A replay's job: `<tenant>.<endpoint>.<eventId>.r<replayId>`. The suffix keeps it apart from the
 * original's id (and deduplication id), so the original's record never swallows the replay;
 * it still starts with `<tenant>.<endpoint>.`, which is all that code reading job ids relies on.
 */
export function replayJobId(eventId: string, tenant: string, endpoint: string, replayId: string): string {
  return `${deliveryJobId(eventId, tenant, endpoint)}.r${replayId}`;
}

/** What every job id of one endpoint starts with: `<tenant>.<endpoint>.` (safe in a SCAN MATCH glob). */
export function endpointJobIdPrefix(tenant: string, endpoint: string): string {
  return `${tenant}.${endpoint}.`;
}

/** Tenant and endpoint of a delivery job id (a delivery's or a replay's), if it is one. */
export function jobEndpoint(jobId: string): { tenant: string; endpoint: string } | undefined {
  const a = jobId.indexOf('.');
  const b = a < 0 ? -1 : jobId.indexOf('.', a + 1);
  if (a <= 0 || b <= a + 1) return undefined;
  return { tenant: jobId.slice(0, a), endpoint: jobId.slice(a + 1, b) };
}

/** The tenant of a job id (what comes before its first '.'), or undefined; one indexOf per id. */
export function jobTenant(jobId: string): string | undefined {
  const dot = jobId.indexOf('.');
  return dot > 0 ? jobId.slice(0, dot) : undefined;
}

/**
 * Which job ids belong to an endpoint: all of them, or (with `eventId`) that event's delivery
 * and its replays' deliveries, never another event's whose id merely starts the same way.
 */
export function endpointJobIds(tenant: string, endpoint: string, eventId?: string): (jobId: string) => boolean {
  if (eventId === undefined) {
    const prefix = endpointJobIdPrefix(tenant, endpoint);
    return (id) => id.startsWith(prefix);
  }
  const mine = deliveryJobId(eventId, tenant, endpoint);
  return (id) => id === mine || id.startsWith(`${mine}.r`);
}

export function deliveryJobOptions(
  jobId: string,
  retry: { attempts: number; backoffMs: number },
  keep: { dedupTtlMs: number; keepCompleted: { count: number; age: number } },
): JobsOptions & { jobId: string } {
  return {
    jobId,
    attempts: retry.attempts,
    backoff: { type: BACKOFF_TYPE, delay: retry.backoffMs },
    // Throttle-mode deduplication outlives the job: a re-read after the job completed and
    // was trimmed still adds nothing within the TTL.
    deduplication: { id: jobId, ttl: keep.dedupTtlMs },
    removeOnComplete: keep.keepCompleted,
    removeOnFail: false,
  };
}

/** One job as queue.add and addBulk take it. */
export interface BulkJob {
  name: typeof JOB_NAME;
  data: DeliveryJobData;
  opts: JobsOptions & { jobId: string };
}

/**
 * The job that delivers `event` to one endpoint with `delivery.body` (the envelope, or its
 * transform): the bridge's jobs and the admin API's test event are built alike.
 */
export function deliveryJob(
  event: Pick<WssEvent, 'id' | 'tenant' | 'type' | 'createdAtMs'> & { priority?: WssEvent['priority'] },
  delivery: {
    endpoint: string;
    body: string;
    retry: { attempts: number; backoffMs: number };
    ordering?: OrderingData | undefined;
  },
  keep: { dedupTtlMs: number; keepCompleted: { count: number; age: number } },
  trace?: TraceCarrier,
): BulkJob {
  const jobId = deliveryJobId(event.id, event.tenant, delivery.endpoint);
  const opts = deliveryJobOptions(jobId, delivery.retry, keep);
  // Parked: only a release (queue/ordering-store.ts) moves it, once it is its key's head.
  if (delivery.ordering) opts.delay = PARK_MS;
  return {
    name: JOB_NAME,
    data: {
      eventId: event.id,
      tenant: event.tenant,
      endpoint: delivery.endpoint,
      type: event.type,
      createdAt: event.createdAtMs,
      body: delivery.body,
      ...(event.priority === 'high' || event.priority === 'low' ? { priority: event.priority } : {}),
      ...(trace === undefined ? {} : { trace }),
      ...(delivery.ordering ? { ordering: delivery.ordering } : {}),
    },
    opts,
  };
}

export type DeliveryQueue = Queue<DeliveryJobData>;
