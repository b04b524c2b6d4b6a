// Bounded waits. ioredis queues commands while Redis is down (maxRetriesPerRequest: null), so
// anything that must answer now (probes, shutdown) races a timer.

/** How long a readiness probe or a scrape waits for Redis (or a role) before it answers "not ready". */
export const PROBE_TIMEOUT_MS = 2_000;

/** Rejects after ms unless p settles first; the timer never keeps the process alive. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** True if p fulfils within ms; false on timeout. A rejection of p propagates. */
export function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeout(
    p.then(() => true),
    ms,
    'wait',
  ).catch((err: unknown) => {
    if (err instanceof Error && err.message === `wait timed out after ${ms} ms`) return false;
    throw err;
  });
}
