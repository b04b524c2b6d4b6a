// The delay before the next attempt. BullMQ calls this through the worker's custom backoff
// strategy ("wss"); it is the only retry schedule in the system.

interface BackoffInput {
  /** Attempts made so far, counting the one that just failed (1 after the first failure). */
  attemptsMade: number;
  /** The first gap, in ms; each later gap doubles. */
  baseMs: number;
  /** No gap is longer than this. */
  maxMs: number;
  /** From the receiver's Retry-After (already capped); the gap is at least this. */
  retryAfterMs?: number | undefined;
  /** A number in [0, 1). */
  random: number;
}

/** Jitter takes up to this share off each gap, so gaps keep growing while spreading retries. */
export const JITTER = 0.2;

export function computeBackoff({ attemptsMade, baseMs, maxMs, retryAfterMs, random }: BackoffInput): number {
  const exponent = Math.min(Math.max(attemptsMade - 1, 0), 40);
  const full = Math.min(baseMs * 2 ** exponent, maxMs);
  const jittered = Math.round(full * (1 - JITTER * random));
  return retryAfterMs === undefined ? jittered : Math.max(jittered, retryAfterMs);
}
