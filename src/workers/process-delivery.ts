// The worker's processor: one job, one attempt, in this order. The endpoint's guard (circuit
// open, or endpoint disabled: the job waits in the delayed set, no attempt spent); its fleet-wide
// limits (maxInFlight, rateLimit, a 429/503 pause), then a slot of this process's per-endpoint
// cap (over either: delayed too, no attempt spent); a check that the job's lock still holds;
// deliverAttempt (sign and POST; it knows nothing of BullMQ); then one settle path whatever the
// verdict (circuit report, delivery log, log line, counters) and the result in BullMQ terms
// (settle-attempt.ts).
import { DelayedError, type Job } from 'bullmq';
import { performance } from 'node:perf_hooks';
import { DeliveryError, errorMessage } from '../lib/errors.js';
import type { DeliveryJobData, DeliveryResult } from '../queue/job.js';
import {
  countDelivery,
  countThrottled,
  endToEndSeconds,
  historyWriteFailures,
  sendsSkippedLockLost,
} from '../lib/metrics.js';
import { deliverAttempt, type DeliverDeps } from './deliver.js';
import type { EndpointGuard } from '../endpoints/guard.js';
import type { Admission, EndpointLimits } from '../endpoints/limits.js';
import type { EndpointSlots } from './endpoint-slots.js';
import { lockNeedsCheck, type ConnectionEpochs } from './lock-check.js';
import { attemptLogLine, settleAttempt } from './settle-attempt.js';
import { attemptRecord, type AttemptFacts } from '../history/record-attempt.js';
import type { HistoryStore } from '../history/store.js';
import type { ParkReason } from '../history/delay-reason.js';
import { noopTracer, spanLogger } from '../tracing/tracer.js';
import { startAttemptSpan } from './spans.js';
import type { Span, Tracer } from '../tracing/types.js';
import { PARK_MS } from '../queue/ordering.js';
import { orderedSequence, type OrderedDeps } from './ordered.js';

type DeliveryJob = Job<DeliveryJobData, DeliveryResult>;

export interface ProcessDeps extends Omit<DeliverDeps, 'signals'> {
  slots: EndpointSlots;
  /** The endpoint's circuit and enabled flag (endpoints/guard.ts). */
  guard: EndpointGuard;
  /** Fleet-wide maxInFlight / rateLimit / 429 pause of each endpoint. */
  limits: EndpointLimits;
  /** Losses of the worker's Redis connection, to tell when a job's lock may have lapsed. */
  epochs: ConnectionEpochs;
  lockDurationMs: number;
  /** Aborted at the end of the shutdown grace period: in-flight requests stop, jobs go back. */
  shutdown: AbortSignal;
  /** The delivery log (docs/delivery-log.md): every attempt and how the delivery ended. */
  history?: HistoryStore;
  /** Notes in the job's hash why it is parked (history/delay-reason.ts), for `wss status`. */
  noteParked?: (job: DeliveryJob, reason: ParkReason) => Promise<unknown>;
  /** Gives a job about to be retried its fair-share place behind its flow's queue (fair-state.ts). */
  retag?: (job: DeliveryJob) => Promise<unknown>;
  /** Spans (docs/observability.md): one per attempt, under the bridge span the job carries. */
  tracer?: Tracer | undefined;
  /** Ordering keys (ordered.ts): only a key's released head is sent. */
  ordering?: OrderedDeps;
}

/** False when this worker no longer holds the job's lock; asks Redis only when it may have lapsed (lock-check.ts). */
async function stillLocked(
  deps: ProcessDeps,
  job: DeliveryJob,
  token: string | undefined,
  startEpoch: number,
): Promise<boolean> {
  if (token === undefined) return true;
  const { epochs, lockDurationMs } = deps;
  // Date.now, not deps.now: processedOn is BullMQ's timestamp, taken from this process's clock.
  const facts = {
    startEpoch,
    epoch: epochs.current,
    connected: epochs.connected,
    lockedAt: job.processedOn,
    now: Date.now(),
    lockDurationMs,
  };
  if (!lockNeedsCheck(facts)) return true;
  // While Redis is down this waits for it (the command is queued), then answers.
  return job.extendLock(token, lockDurationMs).then(
    (r) => r === 1,
    () => false,
  );
}

/**
 * The endpoint's fleet-wide limits (endpoints/limits.ts), then a slot of this process's
 * per-endpoint cap. In that order so the Redis round trip is not spent holding a local slot
 * (which made the local cap defer jobs it would otherwise have served).
 */
async function admit(deps: ProcessDeps, key: string, data: DeliveryJobData): Promise<Admission> {
  const admission = await deps.limits.acquire(data.tenant, data.endpoint, deps.endpoint(data.tenant, data.endpoint));
  if (!('lease' in admission)) return admission;
  const slot = await deps.slots.acquire(key);
  if (slot === true) return admission;
  deps.limits.cancel(admission.lease);
  countThrottled(data.tenant, data.endpoint, 'process-cap');
  return { waitMs: slot, reason: 'process-cap' };
}

/**
 * Sent before the job settles, without waiting for Redis's answer: on one Redis the line runs
 * before the completion sent next on the same connection, and waiting for the reply would put a
 * round trip between the receiver's answer and the completion (a longer window for a duplicate
 * when the connection stops hearing Redis). A lost line must not change the attempt's outcome.
 */
async function recordHistory(deps: ProcessDeps, fields: object, facts: AttemptFacts): Promise<void> {
  if (!deps.history?.enabled) return;
  const { issued, written } = deps.history.recordAttempt(attemptRecord(facts), facts.atMs);
  written.catch((e: unknown) => {
    historyWriteFailures.inc({ writer: 'worker' });
    deps.log.warn({ ...fields, err: errorMessage(e) }, 'delivery log: could not record the attempt');
  });
  await issued;
}

/** How one attempt ended, as the circuit, the delivery log, the log line and the counters take it. */
interface Verdict {
  outcome: AttemptFacts['outcome'];
  level: 'info' | 'warn';
  ms: number;
  status: number | undefined;
  /** The failure; absent when delivered. */
  err?: DeliveryError;
  /** The receiver's first bytes when delivered (a failure carries its own). */
  snippet?: string;
}

/**
 * The one settle path of an attempt that reached the receiver or failed trying, delivered or
 * not: the circuit hears of it, the delivery log records it, then the log line and the counters.
 */
async function settle(
  deps: ProcessDeps,
  data: DeliveryJobData,
  attempt: number,
  probe: boolean,
  fields: object,
  v: Verdict,
  span: Span,
): Promise<void> {
  await deps.guard.report(data.tenant, data.endpoint, probe, v.err);
  await recordHistory(deps, fields, {
    data,
    attempt,
    atMs: deps.now(),
    latencyMs: v.ms,
    outcome: v.outcome,
    status: v.status,
    ...(v.err ? { err: v.err } : { snippet: v.snippet }),
  });
  const why = v.err ? { code: v.err.code, reason: v.err.message } : {};
  deps.log[v.level]({ ...fields, status: v.status ?? null, ms: v.ms, outcome: v.outcome, ...why }, 'delivery attempt');
  span.set({ 'wss.outcome': v.outcome });
  if (v.err) span.fail(v.err.code, v.err.message.slice(0, 200));
  countDelivery(data.tenant, data.endpoint, v.outcome, v.ms / 1000);
}

/**
 * Back to the delayed set until `untilMs` without spending an attempt, with the reason noted
 * beside it (sent alongside the move; a lost note must not change what happens to the job).
 */
async function park(
  deps: ProcessDeps,
  job: DeliveryJob,
  token: string | undefined,
  untilMs: number,
  reason: ParkReason,
) {
  const note = deps
    .noteParked?.(job, reason)
    .catch((e: unknown) => deps.log.debug({ jobId: job.id, err: errorMessage(e) }, 'could not note why the job waits'));
  await Promise.all([job.moveToDelayed(untilMs, token), note]);
}

export async function processDelivery(
  deps: ProcessDeps,
  job: DeliveryJob,
  token: string | undefined,
  lockSignal: AbortSignal | undefined,
): Promise<DeliveryResult> {
  const { slots, log } = deps;
  const startEpoch = deps.epochs.current;
  const data = job.data;
  const key = `${data.tenant}/${data.endpoint}`;
  const sequence = await orderedSequence(deps.ordering, job);
  if (sequence === undefined) {
    // Not its key's released head (promoted by hand, or a stale release): parked again, unsent.
    await park(deps, job, token, Date.now() + PARK_MS, 'ordering');
    throw new DelayedError(`waiting behind an earlier event of ordering key on ${key}`);
  }
  const gate = await deps.guard.check(data.tenant, data.endpoint);
  if (!gate.send) {
    // Circuit open, or endpoint disabled: wait in the delayed set without spending an attempt.
    await park(deps, job, token, Date.now() + gate.waitMs, gate.reason);
    throw new DelayedError(`endpoint ${key} ${gate.why}`);
  }
  const admission = await admit(deps, key, data);
  if (!('lease' in admission)) {
    // Over this endpoint's cap or rate, or paused: back to the delayed set without consuming an attempt.
    await park(deps, job, token, Date.now() + admission.waitMs, admission.reason);
    throw new DelayedError(
      `endpoint ${key} must wait (${admission.reason}); ${slots.count(key)} deliveries in flight here`,
    );
  }
  let failure: unknown;
  const attempt = job.attemptsMade + 1;
  const started = performance.now();
  const fields = { tenant: data.tenant, endpoint: data.endpoint, eventId: data.eventId, attempt };
  // One span per attempt (a retry is a new one in the same trace); lines logged during it carry its ids.
  const tracer = deps.tracer ?? noopTracer;
  const span = startAttemptSpan(tracer, data, attempt);
  if (tracer.enabled) deps = { ...deps, log: spanLogger(log, span), tracer };
  try {
    if (!(await stillLocked(deps, job, token, startEpoch))) {
      // Another worker has or will get this job from the stalled check: sending it here too
      // would be a duplicate. Nothing to hand back without the lock; no attempt is spent.
      span.set({ 'wss.outcome': 'not-sent' });
      deps.log.warn(
        { ...fields, outcome: 'not-sent' },
        'job lock lapsed before sending (Redis outage or a stalled process): not sent, the job goes back to the queue',
      );
      sendsSkippedLockLost.inc();
      throw new DelayedError('job lock lapsed before sending');
    }
    // A job that stalled before may already have reached the receiver: say so (X-WSS-Redelivery).
    const redelivery = job.stalledCounter > 0;
    // The request listens to both itself (one AbortController per attempt, in http.ts).
    const trace = tracer.enabled ? { tracer, attempt: span } : undefined;
    const result = await deliverAttempt({ ...deps, signals: [deps.shutdown, lockSignal], trace }, data, attempt, {
      redelivery,
      ...(sequence === null ? {} : { sequence }),
    });
    const { ms, status, snippet } = result;
    await settle(
      deps,
      data,
      attempt,
      gate.probe,
      fields,
      { outcome: 'delivered', level: 'info', ms, status, snippet },
      span,
    );
    if (typeof data.createdAt === 'number') endToEndSeconds.observe(Math.max(0, deps.now() - data.createdAt) / 1000);
    return result;
  } catch (err) {
    failure = err;
    if (!(err instanceof DeliveryError)) throw err;
    const ms = Math.round(performance.now() - started);
    const settled = settleAttempt(err, attempt, job.opts.attempts ?? 1, {
      shuttingDown: deps.shutdown.aborted && token !== undefined,
    });
    if (settled.outcome === 'handed-back') {
      // Cut short by shutdown, not by the receiver: hand the job back untouched.
      deps.log.warn(
        { ...fields, ms, outcome: settled.outcome },
        'delivery aborted by shutdown; job returned to the queue',
      );
      span.set({ 'wss.outcome': settled.outcome });
      await job.moveToDelayed(Date.now(), token);
      throw settled.toThrow;
    }
    const { outcome } = settled;
    await settle(
      deps,
      data,
      attempt,
      gate.probe,
      fields,
      {
        outcome,
        level: settled.level,
        ms,
        status: err.status,
        err,
      },
      span,
    );
    // The per-attempt history for the dashboard; a failed log write must not change the outcome.
    await job
      .log(attemptLogLine(attempt, outcome, ms, err))
      .catch((e: unknown) => deps.log.warn({ ...fields, err: errorMessage(e) }, 'job.log failed'));
    if (outcome === 'retry')
      await deps
        .retag?.(job)
        .catch((e: unknown) =>
          deps.log.warn({ ...fields, err: errorMessage(e) }, 'fair-share retag failed; the retry keeps its place'),
        );
    throw settled.toThrow;
  } finally {
    span.end();
    slots.release(key, performance.now() - started);
    deps.limits.release(admission.lease, failure);
  }
}
