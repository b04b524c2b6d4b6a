// The delivery worker role: a BullMQ Worker whose processor is one attempt (deliver.ts).
// BullMQ alone schedules retries, through the 'wss' backoff strategy below; a permanent
// failure becomes an UnrecoverableError so BullMQ stops at once.
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { computeBackoff } from './backoff.js';
import { readSecretEnv } from '../config.js';
import { DeliveryError } from '../errors.js';
import { QUEUE_NAME, type DeliveryJobData, type DeliveryResult } from '../job.js';
import { countDelivery, endToEndSeconds, sendsSkippedLockLost } from '../metrics.js';
import { createRedis } from '../redis.js';
import type { RoleContext, RunningRole } from '../roles.js';
import { settlesWithin } from '../timeout.js';
import { USER_AGENT } from '../version.js';
import { deliverAttempt, type DeliverDeps } from './deliver.js';
import { EndpointSlots } from './endpoint-slots.js';
import { createHttpSender } from './http.js';
import { ConnectionEpochs, lockNeedsCheck } from './lock-check.js';
import { reportStalls } from './stalls.js';

export type DeliveryWorker = Worker<DeliveryJobData, DeliveryResult>;
type Outcome = 'delivered' | 'retry' | 'failed' | 'disabled';

// After the grace period, in-flight requests are aborted and their jobs handed back; this
// bounds how long that hand-back may take before the connection is dropped regardless.
const ABORT_GRACE_MS = 5_000;
// A job over its endpoint's cap waits here up to this long, else goes back to the delayed set
// for between MIN and MAX_DEFER_MS (see endpoint-slots.ts).
const SLOT_WAIT_MS = 250;
const MIN_DEFER_MS = 200;
const MAX_DEFER_MS = 120_000;

/** The retry schedule for backoff type 'wss': per-job base delay, honouring Retry-After. */
export function wssBackoffStrategy(maxMs: number, random: () => number = Math.random) {
  return (attemptsMade: number, _type?: string, err?: Error, job?: { opts: { backoff?: number | { delay?: number } } }): number => {
    const b = job?.opts.backoff;
    const baseMs = typeof b === 'number' ? b : (b?.delay ?? 1_000);
    const retryAfterMs = err instanceof DeliveryError ? err.retryAfterMs : undefined;
    return computeBackoff({ attemptsMade, baseMs, maxMs, retryAfterMs, random: random() });
  };
}

/** One line for job.log, shown per attempt in the dashboard. Never the body or a header. */
export function attemptLogLine(attempt: number, outcome: Outcome, ms: number, err: DeliveryError): string {
  const status = err.status === undefined ? 'no response' : `HTTP ${err.status}`;
  const snippet = err.snippet ? ` · response: ${JSON.stringify(err.snippet.slice(0, 1024))}` : '';
  return `attempt ${attempt}: ${outcome} · ${status} · ${ms} ms · ${err.code}: ${err.message}${snippet}`;
}

export async function startWorker(ctx: RoleContext<'worker'>): Promise<RunningRole & { worker: DeliveryWorker }> {
  const { config, registry } = ctx;
  const log = ctx.log.child({ role: 'worker' });
  const connection = createRedis(config.redisUrl, 'worker', log);
  const epochs = new ConnectionEpochs(connection);
  const http = createHttpSender({ allowPrivateUrls: config.allowPrivateUrls, connectionsPerOrigin: config.worker.concurrency });
  const slots = new EndpointSlots({
    cap: config.worker.endpointConcurrency,
    maxWaitMs: SLOT_WAIT_MS,
    minDeferMs: MIN_DEFER_MS,
    maxDeferMs: MAX_DEFER_MS,
    now: () => performance.now(),
    random: Math.random,
  });
  const shutdown = new AbortController();
  // Every in-flight request listens on this one signal (and removes its listener when done).
  setMaxListeners(config.worker.concurrency + 16, shutdown.signal);

  const deps: Omit<DeliverDeps, 'signals'> = {
    endpoint: (t, e) => registry.endpoint(t, e)?.config,
    readSecretEnv,
    post: (req) => http.post(req),
    disableEndpoint: async (t, e) => {
      await registry.updateEndpoint(t, e, (ep) => ({ ...ep, enabled: false }));
    },
    now: ctx.now,
    userAgent: USER_AGENT,
    retryAfterMaxMs: config.worker.retryAfterMaxMs,
    log,
  };

  /** False when this worker no longer holds the job's lock; asks Redis only when it may have lapsed (lock-check.ts). */
  async function stillLocked(job: Job<DeliveryJobData, DeliveryResult>, token: string | undefined, startEpoch: number): Promise<boolean> {
    if (token === undefined) return true;
    // Date.now, not ctx.now: processedOn is BullMQ's timestamp, taken from this process's clock.
    const facts = { startEpoch, epoch: epochs.current, connected: epochs.connected, lockedAt: job.processedOn, now: Date.now(), lockDurationMs: config.worker.lockDurationMs };
    if (!lockNeedsCheck(facts)) return true;
    // While Redis is down this waits for it (the command is queued), then answers.
    return job.extendLock(token, config.worker.lockDurationMs).then(
      (r) => r === 1,
      () => false,
    );
  }

  async function processDelivery(job: Job<DeliveryJobData, DeliveryResult>, token: string | undefined, lockSignal: AbortSignal | undefined): Promise<DeliveryResult> {
    const startEpoch = epochs.current;
    const data = job.data;
    const key = `${data.tenant}/${data.endpoint}`;
    const slot = await slots.acquire(key);
    if (slot !== true) {
      // Over this endpoint's cap: back to the delayed set without consuming an attempt.
      await job.moveToDelayed(Date.now() + slot, token);
      throw new DelayedError(`endpoint ${key} has ${slots.count(key)} deliveries in flight`);
    }
    const attempt = job.attemptsMade + 1;
    const started = performance.now();
    const slotTakenAt = started;
    const fields = { tenant: data.tenant, endpoint: data.endpoint, eventId: data.eventId, attempt };
    try {
      if (!(await stillLocked(job, token, startEpoch))) {
        // Another worker has or will get this job from the stalled check: sending it here too
        // would be a duplicate. Nothing to hand back without the lock; no attempt is spent.
        log.warn({ ...fields, outcome: 'not-sent' }, 'job lock lapsed before sending (Redis outage or a stalled process): not sent, the job goes back to the queue');
        sendsSkippedLockLost.inc();
        throw new DelayedError('job lock lapsed before sending');
      }
      // A job that stalled before may already have reached the receiver: say so (X-WSS-Redelivery).
      const redelivery = job.stalledCounter > 0;
      // The request listens to both itself (one AbortController per attempt, in http.ts).
      const result = await deliverAttempt({ ...deps, signals: [shutdown.signal, lockSignal] }, data, attempt, { redelivery });
      log.info({ ...fields, status: result.status, ms: result.ms, outcome: 'delivered' }, 'delivery attempt');
      countDelivery(data.tenant, data.endpoint, 'delivered', result.ms / 1000);
      if (typeof data.createdAt === 'number') endToEndSeconds.observe(Math.max(0, ctx.now() - data.createdAt) / 1000);
      return result;
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      const ms = Math.round(performance.now() - started);
      if (shutdown.signal.aborted && !err.permanent && token !== undefined) {
        // Cut short by shutdown, not by the receiver: hand the job back untouched.
        log.warn({ ...fields, ms, outcome: 'handed-back' }, 'delivery aborted by shutdown; job returned to the queue');
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError('worker shutting down');
      }
      const lastAttempt = attempt >= (job.opts.attempts ?? 1);
      const outcome: Outcome = err.code === 'ENDPOINT_GONE' ? 'disabled' : err.permanent || lastAttempt ? 'failed' : 'retry';
      const level = outcome === 'retry' ? 'info' : 'warn';
      log[level]({ ...fields, status: err.status ?? null, ms, outcome, code: err.code, reason: err.message }, 'delivery attempt');
      countDelivery(data.tenant, data.endpoint, outcome, ms / 1000);
      // The per-attempt history for the dashboard; a failed log write must not change the outcome.
      await job.log(attemptLogLine(attempt, outcome, ms, err)).catch((e: unknown) => log.warn({ ...fields, err: (e as Error).message }, 'job.log failed'));
      const message = `${err.code}: ${err.message}`;
      // Same fields (retryAfterMs for the backoff strategy), message prefixed for failedReason.
      const failure = err.permanent
        ? new UnrecoverableError(message)
        : new DeliveryError(err.code, message, { permanent: false, status: err.status, retryAfterMs: err.retryAfterMs, snippet: err.snippet });
      // An expected outcome, not a bug: BullMQ stores err.stack per attempt and the dashboard
      // shows it, so keep it to the one line that says what happened.
      failure.stack = `${failure.name}: ${message}`;
      throw failure;
    } finally {
      slots.release(key, performance.now() - slotTakenAt);
    }
  }

  const worker: DeliveryWorker = new Worker<DeliveryJobData, DeliveryResult>(QUEUE_NAME, (job, token, signal) => processDelivery(job, token, signal), {
    connection,
    prefix: config.prefix,
    concurrency: config.worker.concurrency,
    stalledInterval: config.worker.stalledIntervalMs,
    // A dead worker's lock lapses after lockDuration; the stalled check (every stalledInterval)
    // then returns its jobs to the queue. The lock must outlast a Redis outage, else a job sent
    // before it is sent again after it: kept apart from how often stalls are looked for.
    lockDuration: config.worker.lockDurationMs,
    // BullMQ renews a lock once it is older than lockRenewTime/2 (default lockDuration/2). A
    // quarter keeps every live lock at least 3/4 of lockDuration away from lapsing.
    lockRenewTime: Math.max(Math.floor(config.worker.lockDurationMs / 4), 100),
    // A stall is not an attempt: BullMQ's default (1) failed a job after two worker crashes.
    maxStalledCount: config.worker.maxStalledCount,
    settings: { backoffStrategy: wssBackoffStrategy(config.worker.maxBackoffMs) },
  });
  reportStalls(worker, log, config.worker.maxStalledCount);
  // While Redis is down BullMQ reports every failed poll; one line per distinct error per 10 s.
  let lastError = { message: '', at: 0, repeats: 0 };
  worker.on('error', (err) => {
    const at = ctx.now();
    if (err.message === lastError.message && at - lastError.at < 10_000) {
      lastError.repeats++;
      return;
    }
    log.error({ err: err.message, ...(lastError.repeats > 0 ? { repeatsOfPrevious: lastError.repeats } : {}) }, 'worker error');
    lastError = { message: err.message, at, repeats: 0 };
  });

  log.info({ queue: QUEUE_NAME, prefix: config.prefix, concurrency: config.worker.concurrency, endpointConcurrency: config.worker.endpointConcurrency, allowPrivateUrls: config.allowPrivateUrls }, 'worker started');

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    const closing = worker.close();
    if (!(await settlesWithin(closing, config.shutdownGraceMs))) {
      log.warn({ graceMs: config.shutdownGraceMs }, 'worker: grace period over, aborting in-flight deliveries');
      shutdown.abort();
      if (!(await settlesWithin(closing, ABORT_GRACE_MS))) {
        // Jobs still active are recovered by another worker's stalled check.
        log.error('worker: could not hand back in-flight jobs; dropping the connection');
        connection.disconnect();
      }
    }
    await http.close().catch(() => undefined);
    if (connection.status !== 'end') await connection.quit().catch(() => connection.disconnect());
    log.info('worker stopped');
  }

  return {
    name: 'worker',
    worker,
    async ready() {
      if (!worker.isRunning()) return { ok: false, detail: 'worker not running' };
      try {
        // Commands queue while Redis is down (maxRetriesPerRequest: null): bound the wait.
        const answered = await settlesWithin(connection.ping(), 2_000);
        return answered ? { ok: true, detail: 'worker running' } : { ok: false, detail: 'redis: no answer to PING within 2 s' };
      } catch (err) {
        return { ok: false, detail: `redis: ${(err as Error).message}` };
      }
    },
    stop() {
      stopping ??= stop();
      return stopping;
    },
  };
}
