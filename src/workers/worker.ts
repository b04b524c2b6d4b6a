// The delivery worker role: one BullMQ Worker per delivery queue it consumes (shard-workers.ts),
// sharing WSS_CONCURRENCY, whose processor is one attempt (process-delivery.ts).
// BullMQ alone schedules retries, through the 'wss' backoff strategy below; a failure that is
// not to be retried becomes an UnrecoverableError so BullMQ stops at once (settle-attempt.ts).
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { computeBackoff } from './backoff.js';
import { readSecretEnv } from '../config.js';
import { DeliveryError, errorMessage } from '../lib/errors.js';
import { DeliveryQueues, queueKeyBase } from '../queue/delivery-queues.js';
import { OrderingStore, type OrderingShard } from '../queue/ordering-store.js';
import { ORDER_HEAL_MS } from '../queue/ordering.js';
import { orderedEnded, type OrderedDeps } from './ordered.js';
import type { DeliveryJobData, DeliveryResult } from '../queue/job.js';
import { once } from '../lib/once.js';
import { createRedis } from '../redis/client.js';
import type { RoleContext, RunningRole } from '../roles.js';
import { PROBE_TIMEOUT_MS, settlesWithin } from '../lib/timeout.js';
import { USER_AGENT } from '../lib/version.js';
import { CircuitBreaker } from '../endpoints/circuit.js';
import { disableEndpoint } from '../endpoints/disable.js';
import { EndpointGuard } from '../endpoints/guard.js';
import { EndpointLimits } from '../endpoints/limits.js';
import { EndpointSlots } from './endpoint-slots.js';
import { createHttpSender } from './http.js';
import { ConnectionEpochs } from './lock-check.js';
import { processDelivery, type ProcessDeps } from './process-delivery.js';
import { reportStalls } from './stalls.js';
import { HistoryStore } from '../history/store.js';
import { createPublisher } from '../producers/sources/index.js';
import { retagForRetry } from '../queue/fair-queues.js';
import { GatedWorker } from './gated-worker.js';
import { PARK_FIELD, parkRecord } from '../history/delay-reason.js';
import { ShardWorkers } from './shard-workers.js';

export type DeliveryWorker = GatedWorker<DeliveryJobData, DeliveryResult>;

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
  return (
    attemptsMade: number,
    _type?: string,
    err?: Error,
    job?: { opts: { backoff?: number | { delay?: number } } },
  ): number => {
    const b = job?.opts.backoff;
    const baseMs = typeof b === 'number' ? b : (b?.delay ?? 1_000);
    const retryAfterMs = err instanceof DeliveryError ? err.retryAfterMs : undefined;
    return computeBackoff({ attemptsMade, baseMs, maxMs, retryAfterMs, random: random() });
  };
}

export interface RunningWorker extends RunningRole {
  /** The BullMQ Workers running now: this process's shards, then queues of other layouts being drained. */
  workers(): DeliveryWorker[];
  /** Their queue names. */
  queueNames(): string[];
}

export async function startWorker(ctx: RoleContext<'worker'>): Promise<RunningWorker> {
  const { config, registry } = ctx;
  const log = ctx.log.child({ role: 'worker' });
  const connection = createRedis(config, 'worker', log);
  const epochs = new ConnectionEpochs(connection);
  const http = createHttpSender({
    allowPrivateUrls: config.allowPrivateUrls,
    connectionsPerOrigin: config.worker.concurrency,
  });
  const slots = new EndpointSlots({
    cap: config.worker.endpointConcurrency,
    maxWaitMs: SLOT_WAIT_MS,
    minDeferMs: MIN_DEFER_MS,
    maxDeferMs: MAX_DEFER_MS,
    now: () => performance.now(),
    random: Math.random,
  });
  const queues = new DeliveryQueues(connection, config.prefix, config.layout);
  const limits = new EndpointLimits({
    redis: connection,
    prefix: config.prefix,
    layout: config.layout,
    leaseMs: config.worker.endpointLeaseMs,
    retryAfterMaxMs: config.worker.retryAfterMaxMs,
    now: () => performance.now(),
    random: Math.random,
    log,
  });
  const shutdown = new AbortController();
  // Every in-flight request listens on this one signal (and removes its listener when done).
  setMaxListeners(config.worker.concurrency + 16, shutdown.signal);

  const endpointOf = (t: string, e: string) => registry.endpoint(t, e)?.config;
  // Operational events (wss.endpoint.disabled) go where the bridge reads: the configured source.
  const publisher = createPublisher(config, ctx.redis, log);
  const disableDeps = { registry, publisher, maxEventBytes: config.maxEventBytes, log };
  const guard = new EndpointGuard({
    breaker: new CircuitBreaker(ctx.redis, config.prefix, {
      now: ctx.now,
      disableAfterMs: config.worker.disableAfterMs,
      layout: config.layout,
    }),
    endpoint: endpointOf,
    freshEndpoint: async (t, e) => (await registry.refresh(), endpointOf(t, e)),
    autoDisable: (t, e, reason, at) => disableEndpoint(disableDeps, t, e, 'auto', reason, at),
    disableAfterMs: config.worker.disableAfterMs,
    log,
    now: ctx.now,
    random: Math.random,
  });

  // Ordering keys: the shard of each queue this worker consumes, for the guard and releases.
  const orderShards = new Map<string, OrderingShard>();
  const ordering: OrderedDeps = {
    store: new OrderingStore(connection, {
      prefix: config.prefix,
      ttlS: config.orderingKeyTtlS,
      healMs: ORDER_HEAL_MS,
      cluster: config.layout.cluster,
      now: Date.now,
    }),
    shard: (name) => orderShards.get(name),
    log,
  };
  const deps: ProcessDeps = {
    ordering,
    endpoint: endpointOf,
    readSecretEnv,
    post: (req) => http.post(req),
    disableEndpoint: (t, e) => disableEndpoint(disableDeps, t, e, 'gone', 'the endpoint answered 410 Gone', ctx.now()),
    guard,
    now: ctx.now,
    userAgent: USER_AGENT,
    retryAfterMaxMs: config.worker.retryAfterMaxMs,
    log,
    tracer: ctx.tracer,
    slots,
    limits,
    epochs,
    lockDurationMs: config.worker.lockDurationMs,
    shutdown: shutdown.signal,
    history: new HistoryStore(connection, { prefix: config.prefix, layout: config.layout, ...config.history }),
    noteParked: (job, reason) =>
      connection.hset(`${job.queueQualifiedName}:${job.id}`, PARK_FIELD, parkRecord(reason, job.attemptsMade)),
    // The fair-share state of the queue the job is in (its shard's, or an old layout's).
    retag: (job) =>
      retagForRetry(connection, config.prefix, job.queueName, {
        id: job.id!,
        tenant: job.data.tenant,
        endpoint: job.data.endpoint,
      }),
  };

  // While Redis is down BullMQ reports every failed poll; one line per distinct error per 10 s.
  let lastError = { message: '', at: 0, repeats: 0 };
  const onError = (err: Error) => {
    const at = ctx.now();
    if (err.message === lastError.message && at - lastError.at < 10_000) {
      lastError.repeats++;
      return;
    }
    log.error(
      { err: err.message, ...(lastError.repeats > 0 ? { repeatsOfPrevious: lastError.repeats } : {}) },
      'worker error',
    );
    lastError = { message: err.message, at, repeats: 0 };
  };

  const create = (name: string, gate: ConstructorParameters<typeof GatedWorker>[3]): DeliveryWorker => {
    const w: DeliveryWorker = new GatedWorker<DeliveryJobData, DeliveryResult>(
      name,
      (job, token, signal) => processDelivery(deps, job, token, signal),
      workerOptions(),
      gate,
    );
    reportStalls(w, log, config.worker.maxStalledCount);
    w.on('error', onError);
    orderShards.set(name, { keyBase: queueKeyBase(config.prefix, name), queue: w });
    w.on('completed', (job) => orderedEnded(ordering, job));
    w.on('failed', (job) => orderedEnded(ordering, job));
    return w;
  };
  const workerOptions = () => ({
    connection,
    prefix: config.prefix,
    // Each queue's Worker may use the whole WSS_CONCURRENCY; the shared permits cap the sum.
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
  const shards = new ShardWorkers<DeliveryWorker>({
    queues,
    pinned: config.worker.shards?.map((k) => k - 1),
    concurrency: config.worker.concurrency,
    scanMs: config.queueScanMs,
    create: (ref, gate) => create(ref.name, gate),
    log,
  });
  shards.start();

  log.info(
    {
      queues: shards.names(),
      prefix: config.prefix,
      concurrency: config.worker.concurrency,
      endpointConcurrency: config.worker.endpointConcurrency,
      allowPrivateUrls: config.allowPrivateUrls,
    },
    'worker started',
  );

  async function stop(): Promise<void> {
    const closing = shards.close();
    if (!(await settlesWithin(closing, config.shutdownGraceMs))) {
      log.warn({ graceMs: config.shutdownGraceMs }, 'worker: grace period over, aborting in-flight deliveries');
      shutdown.abort();
      if (!(await settlesWithin(closing, ABORT_GRACE_MS))) {
        // Jobs still active are recovered by another worker's stalled check.
        log.error('worker: could not hand back in-flight jobs; dropping the connection');
        connection.disconnect();
      }
    }
    limits.close();
    await queues.close();
    await http.close().catch(() => undefined);
    await publisher.close().catch(() => undefined);
    if (connection.status !== 'end') await connection.quit().catch(() => connection.disconnect());
    log.info('worker stopped');
  }

  return {
    name: 'worker',
    workers: () => shards.workers(),
    queueNames: () => shards.names(),
    async ready() {
      if (!shards.ownWorkers().every((w) => w.isRunning())) return { ok: false, detail: 'worker not running' };
      try {
        // Commands queue while Redis is down (maxRetriesPerRequest: null): bound the wait.
        const answered = await settlesWithin(connection.ping(), PROBE_TIMEOUT_MS);
        return answered
          ? { ok: true, detail: 'worker running' }
          : { ok: false, detail: `redis: no answer to PING within ${PROBE_TIMEOUT_MS / 1000} s` };
      } catch (err) {
        return { ok: false, detail: `redis: ${errorMessage(err)}` };
      }
    },
    stop: once(stop),
  };
}
