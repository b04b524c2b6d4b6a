// Why a delivery waits in BullMQ's delayed set. A job can wait there without spending an
// attempt (its endpoint's circuit is open, the endpoint is disabled, an endpoint limit holds it
// back) or between two attempts (backoff). The worker notes the first kind in the job's own
// hash when it parks the job; `wss status` and the event page then show "delayed" with its
// reason instead of a bare "delayed". Pure, but for the field name both sides share.
import type { ThrottleReason } from '../endpoints/limits.js';

/** The job hash field holding `<reason> <attemptsMade>` (BullMQ ignores fields it does not know). */
export const PARK_FIELD = 'wssPark';

export type ParkReason = 'circuit-open' | 'disabled' | 'ordering' | ThrottleReason;

const TEXT: Record<ParkReason, string> = {
  'circuit-open': 'circuit open (cool-down after failed attempts)',
  disabled: 'endpoint disabled (kept until enabled again)',
  ordering: 'waiting behind an earlier event of its ordering key',
  'max-in-flight': 'endpoint limit: maxInFlight',
  'rate-limit': 'endpoint limit: rateLimit',
  paused: 'endpoint paused by the receiver (429/503 Retry-After)',
  'process-cap': "endpoint limit: a worker's WSS_ENDPOINT_CONCURRENCY",
};

/** What the worker writes when it parks a job that has made `attemptsMade` attempts. */
export function parkRecord(reason: ParkReason, attemptsMade: number): string {
  return `${reason} ${attemptsMade}`;
}

/**
 * Why a delayed job waits. A park record holds while the job has made no attempt since it was
 * written; after a failed attempt the wait is the retry's backoff. Undefined when nothing says
 * (a job added with a delay).
 */
export function delayReason(record: string | null | undefined, attemptsMade: number): string | undefined {
  const m = /^([a-z-]+) (\d+)$/.exec(record ?? '');
  if (m && Number(m[2]) === attemptsMade && m[1]! in TEXT) return TEXT[m[1] as ParkReason];
  if (attemptsMade > 0) return `retry backoff after attempt ${attemptsMade} failed`;
  return undefined;
}
