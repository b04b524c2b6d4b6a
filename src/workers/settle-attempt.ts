// What a failed attempt means for its job, decided in one place: the outcome that the logs, the
// metrics and the dashboard show, the log level, and the error BullMQ gets. Pure: the processor
// (process-delivery.ts) logs, counts and throws. A delivered attempt needs no settling.
import { DelayedError, UnrecoverableError } from 'bullmq';
import { DeliveryError, type Outcome } from '../lib/errors.js';

type Settlement =
  /** Cut short by shutdown: the caller moves the job back to the queue, untouched, then throws. */
  | { outcome: 'handed-back'; level: 'warn'; toThrow: DelayedError }
  | { outcome: Exclude<Outcome, 'delivered'>; level: 'info' | 'warn'; toThrow: Error };

/**
 * Attempt number `attempt` (1-based) of at most `maxAttempts` failed with `err`. `shuttingDown`:
 * the worker aborted the request at the end of its grace period and holds the job's lock, so a
 * retryable failure is not the receiver's doing and spends no attempt.
 */
export function settleAttempt(
  err: DeliveryError,
  attempt: number,
  maxAttempts: number,
  opts: { shuttingDown?: boolean } = {},
): Settlement {
  if (opts.shuttingDown === true && err.outcome === 'retry') {
    return { outcome: 'handed-back', level: 'warn', toThrow: new DelayedError('worker shutting down') };
  }
  const outcome = err.outcome === 'retry' && attempt >= maxAttempts ? 'failed' : err.outcome;
  const message = `${err.code}: ${err.message}`;
  // Same fields (retryAfterMs for the backoff strategy), message prefixed for failedReason. On
  // the last attempt BullMQ fails the job itself, as it has no attempts left.
  const toThrow =
    err.outcome === 'retry'
      ? new DeliveryError(err.code, message, {
          outcome: 'retry',
          status: err.status,
          retryAfterMs: err.retryAfterMs,
          snippet: err.snippet,
        })
      : new UnrecoverableError(message);
  // An expected outcome, not a bug: BullMQ stores err.stack per attempt and the dashboard
  // shows it, so keep it to the one line that says what happened.
  toThrow.stack = `${toThrow.name}: ${message}`;
  return { outcome, level: outcome === 'retry' ? 'info' : 'warn', toThrow };
}

/** One line for job.log, shown per attempt in the dashboard. Never the body or a header. */
export function attemptLogLine(attempt: number, outcome: Outcome, ms: number, err: DeliveryError): string {
  const status = err.status === undefined ? 'no response' : `HTTP ${err.status}`;
  const snippet = err.snippet ? ` · response: ${JSON.stringify(err.snippet.slice(0, 1024))}` : '';
  return `attempt ${attempt}: ${outcome} · ${status} · ${ms} ms · ${err.code}: ${err.message}${snippet}`;
}
