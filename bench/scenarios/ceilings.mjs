// The two physical ceilings of the design, measured with the product's own code and settings:
// the worker's attempt (endpoint lookup, signing, undici POST, classification) without a queue,
// and BullMQ alone with no-op jobs of the delivery job's size and options.
import { Queue, Worker } from 'bullmq';
import { parseConfig } from '../../dist/config.js';
import { deliveryJobOptions, JOB_NAME } from '../../dist/queue/job.js';
import { BASE_QUEUE_NAME as QUEUE_NAME } from '../../dist/redis/shards.js';
import { createLogger } from '../../dist/lib/log.js';
import { readSecretEnv } from '../../dist/config.js';
import { parseEndpoint } from '../../dist/tenants/schema.js';
import { USER_AGENT } from '../../dist/lib/version.js';
import { deliverAttempt } from '../../dist/workers/deliver.js';
import { createHttpSender } from '../../dist/workers/http.js';
import { redisClient } from '../lib/env.mjs';
import { redisCostMark } from '../lib/redis-cost.mjs';
import { SECRET, paddedData } from '../lib/service.mjs';
import { median, round } from '../lib/stats.mjs';

// The worker's defaults (WSS_CONCURRENCY, WSS_ENDPOINT_CONCURRENCY, retry, dedup, retention).
export const workerConfig = parseConfig({ WSS_ALLOW_PRIVATE_URLS: 'true' });

export function sampleJobData(i) {
  const eventId = `1700000000000-${i}`;
  const body = `{"id":"${eventId}","type":"order.updated","tenant":"bench","createdAt":"2023-11-14T22:13:20.000Z","data":${paddedData(i)}}`;
  return { eventId, tenant: 'bench', endpoint: 'ep1', type: 'order.updated', createdAt: 1_700_000_000_000, body };
}

async function httpRun(url, durationMs) {
  const http = createHttpSender({
    allowPrivateUrls: true,
    connectionsPerOrigin: workerConfig.worker.endpointConcurrency,
  });
  const ep = parseEndpoint({ id: 'ep1', url, secret: SECRET });
  const deps = {
    endpoint: () => ep,
    readSecretEnv,
    post: (req) => http.post(req),
    disableEndpoint: async () => undefined,
    now: Date.now,
    userAgent: USER_AGENT,
    retryAfterMaxMs: workerConfig.worker.retryAfterMaxMs,
    log: createLogger('silent'),
  };
  let done = 0;
  let errors = 0;
  let seq = 0;
  const loop = async (until, count) => {
    while (performance.now() < until) {
      try {
        await deliverAttempt(deps, sampleJobData(seq++), 1);
        if (count) done++;
      } catch {
        errors++;
      }
    }
  };
  // Warm-up: JIT, sockets.
  const warm = performance.now() + Math.min(1_000, durationMs / 2);
  await Promise.all(Array.from({ length: workerConfig.worker.concurrency }, () => loop(warm, false)));
  const started = performance.now();
  const until = started + durationMs;
  await Promise.all(Array.from({ length: workerConfig.worker.concurrency }, () => loop(until, true)));
  const elapsed = performance.now() - started;
  await http.close();
  return { perSec: (done * 1000) / elapsed, done, errors };
}

export async function httpCeiling(ctx) {
  const [port] = await ctx.receiver.listen('ceiling');
  const url = `http://127.0.0.1:${port}/hook`;
  const runs = [];
  for (let i = 0; i < ctx.repeats; i++) runs.push(await httpRun(url, ctx.quick ? 1_500 : 5_000));
  const perSec = median(runs.map((r) => r.perSec));
  ctx.ceilings.http = perSec;
  return {
    data: {
      postsPerSec: round(perSec),
      runs: runs.map((r) => ({ ...r, perSec: round(r.perSec) })),
      concurrency: workerConfig.worker.concurrency,
      connectionsPerOrigin: workerConfig.worker.endpointConcurrency,
    },
    rows: [
      {
        metric: `POSTs/s (median of ${runs.length}, concurrency ${workerConfig.worker.concurrency}, ${workerConfig.worker.endpointConcurrency} sockets)`,
        value: perSec,
      },
    ],
  };
}

/**
 * One run of each ceiling, for a scenario that measures them again right after itself: this
 * machine's speed drifts by up to 30 % within minutes (docs/performance.md, issue 23), so a ratio
 * to ceilings measured a minute earlier carries that drift.
 */
export async function ceilingsOnce(ctx) {
  const [port] = await ctx.receiver.listen('ceiling-again');
  const http = await httpRun(`http://127.0.0.1:${port}/hook`, ctx.quick ? 1_500 : 5_000);
  const queue = await queueRun(ctx.redis, ctx.quick ? 3_000 : 20_000, 'again');
  return { http: http.perSec, queue: queue.perSec };
}

async function queueRun(redis, n, run) {
  const redisUrl = redis.url;
  const prefix = `ceiling${run}`;
  const connection = redisClient(redisUrl);
  const queue = new Queue(QUEUE_NAME, { connection, prefix });
  const keep = { dedupTtlMs: workerConfig.dedupTtlMs, keepCompleted: workerConfig.keepCompleted };
  const retry = { attempts: 20, backoffMs: 5_000 };
  const jobs = Array.from({ length: n }, (_, i) => {
    const data = sampleJobData(i);
    return { name: JOB_NAME, data, opts: deliveryJobOptions(`${data.eventId}_bench_ep1`, retry, keep) };
  });
  const mark = await redisCostMark(redis);
  const addStarted = performance.now();
  for (let i = 0; i < n; i += workerConfig.bridge.batchSize)
    await queue.addBulk(jobs.slice(i, i + workerConfig.bridge.batchSize));
  const addMs = performance.now() - addStarted;

  let completed = 0;
  let firstAt;
  let lastAt;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  const result = { status: 200, ms: 1, attempt: 1, snippet: '' };
  const worker = new Worker(QUEUE_NAME, async () => result, {
    connection: redisClient(redisUrl),
    prefix,
    concurrency: workerConfig.worker.concurrency,
    lockDuration: Math.max(workerConfig.worker.stalledIntervalMs, 1_000),
    stalledInterval: workerConfig.worker.stalledIntervalMs,
  });
  worker.on('completed', () => {
    const now = performance.now();
    firstAt ??= now;
    lastAt = now;
    if (++completed === n) resolveDone();
  });
  const timeout = setTimeout(resolveDone, 120_000);
  await done;
  clearTimeout(timeout);
  // Redis's work for add + fetch + complete of each job, BullMQ's own minimum per delivery.
  const redisCost = await mark.since(n);
  await worker.close();
  await queue.close();
  connection.disconnect();
  return {
    perSec: ((completed - 1) * 1000) / (lastAt - firstAt),
    completed,
    addBulkPerSec: (n * 1000) / addMs,
    redisCost,
  };
}

export async function queueCeiling(ctx) {
  const n = ctx.quick ? 3_000 : 20_000;
  const runs = [];
  for (let i = 0; i < ctx.repeats; i++) runs.push(await queueRun(ctx.redis, n, i));
  const perSec = median(runs.map((r) => r.perSec));
  const addPerSec = median(runs.map((r) => r.addBulkPerSec));
  ctx.ceilings.queue = perSec;
  const redisCpuMsPerJob = median(runs.map((r) => r.redisCost.cpuMsPerJob));
  const commandsPerJob = median(runs.map((r) => r.redisCost.commandsPerJob));
  ctx.ceilings.queueRedis = { cpuMsPerJob: redisCpuMsPerJob, commandsPerJob };
  return {
    data: {
      jobsPerSec: round(perSec),
      addBulkJobsPerSec: round(addPerSec),
      jobs: n,
      redisCpuMsPerJob: round(redisCpuMsPerJob, 4),
      redisCommandsPerJob: round(commandsPerJob, 2),
      runs: runs.map((r) => ({ ...r, perSec: round(r.perSec), addBulkPerSec: round(r.addBulkPerSec) })),
    },
    rows: [
      {
        metric: `no-op jobs/s, 1 Worker (median of ${runs.length}, ${n} jobs, concurrency ${workerConfig.worker.concurrency})`,
        value: perSec,
      },
      { metric: `addBulk jobs/s from one client (batches of ${workerConfig.bridge.batchSize})`, value: addPerSec },
      {
        metric: 'Redis per no-op job (add, fetch, complete): CPU ms / commands',
        value: `${redisCpuMsPerJob.toFixed(3)} / ${commandsPerJob.toFixed(1)}`,
      },
    ],
  };
}
