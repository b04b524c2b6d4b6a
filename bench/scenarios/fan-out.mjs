// One event to many endpoints: the bridge alone first (how fast it turns entries into jobs),
// then the worker drains what it enqueued (deliveries/s over 100 origins).
import { knownQueuesKey } from '../../dist/queue/delivery-queues.js';
import { waitUntil } from '../lib/env.mjs';
import {
  assertAlive,
  groupProgress,
  loadStream,
  paddedData,
  QUEUE,
  PREFIX,
  wallNow,
  waitForDeliveries,
  writeTenantsFile,
} from '../lib/service.mjs';
import { ratePerSec, round } from '../lib/stats.mjs';
import { NO_HOLD, startPipeline, stopAll } from './pipeline.mjs';

const ENQUEUE_TARGET = 20_000;

/** Samples the group until every entry is acknowledged; the span from the first read to the last ack. */
export async function watchBridge(ctx, entries, bridge, timeoutMs) {
  let firstReadAt;
  let doneAt;
  await waitUntil(
    async () => {
      assertAlive(bridge);
      const g = await groupProgress(ctx.redis.client);
      const now = wallNow();
      if (g.read > 0) firstReadAt ??= now;
      if (g.acked >= entries) doneAt = now;
      return doneAt !== undefined;
    },
    { timeoutMs, everyMs: 10, what: `the bridge to acknowledge ${entries} entries` },
  );
  return { firstReadAt, doneAt, seconds: (doneAt - firstReadAt) / 1000 };
}

/** Jobs waiting in every delivery queue (each shard's with WSS_SHARDS > 1, see docs/cluster.md). */
export async function queuedJobs(redis) {
  const names = new Set([QUEUE, ...(await redis.smembers(knownQueuesKey(PREFIX)))]);
  let total = 0;
  for (const q of names) {
    const [wait, prioritized, delayed] = await Promise.all([
      redis.llen(`${PREFIX}:${q}:wait`),
      redis.zcard(`${PREFIX}:${q}:prioritized`),
      redis.zcard(`${PREFIX}:${q}:delayed`),
    ]);
    total += wait + prioritized + delayed;
  }
  return total;
}

// The same, with a jsonata filter (true for every event) on every endpoint: each job then costs
// one evaluation in the bridge's expression pool. The bridge alone; no drain.
export const FAN_OUT_FILTER = "data.status = 'shipped'";
export const fanOutFiltered = (ctx) => fanOut(ctx, { filter: FAN_OUT_FILTER });

export async function fanOut(ctx, { filter } = {}) {
  const events = ctx.quick ? 200 : 1_000;
  const endpoints = 100;
  const total = events * endpoints;
  const ports = await ctx.receiver.listen('fan', endpoints);
  const tenantsFile = writeTenantsFile(ctx.runDir, 'fan-out', [
    {
      id: 'fan',
      endpoints: ports.map((port, i) => ({
        id: `ep${String(i).padStart(3, '0')}`,
        url: `http://127.0.0.1:${port}/hook`,
        ...(filter ? { filter } : {}),
      })),
    },
  ]);
  await loadStream(ctx.redis.client, events, (i) => ({ tenant: 'fan', type: 'order.updated', data: paddedData(i) }));

  const [bridge] = await startPipeline(ctx, 'fan-out', tenantsFile, ['bridge'], NO_HOLD);
  let enqueue;
  try {
    enqueue = await watchBridge(ctx, events, bridge, 120_000);
  } catch (err) {
    await stopAll([bridge]);
    throw err;
  }
  const queued = await queuedJobs(ctx.redis.client);
  const bridgeStopped = await bridge.stop();
  const enqueuePerSec = queued / enqueue.seconds;
  if (filter) {
    return {
      data: {
        events,
        endpoints,
        filter,
        jobs: queued,
        enqueueSeconds: round(enqueue.seconds, 3),
        enqueueJobsPerSec: round(enqueuePerSec),
        bridge: {
          cpuSeconds: round(bridgeStopped.cpuSeconds, 2),
          peakRssMb: round(bridgeStopped.memory?.peakRssMb, 1),
        },
      },
      rows: [
        {
          metric: `bridge enqueue jobs/s, filter on every endpoint (${events} × ${endpoints} = ${queued} jobs and evaluations)`,
          value: enqueuePerSec,
          target: `≥ ${ENQUEUE_TARGET.toLocaleString('en-US')}/s`,
          pass: enqueuePerSec >= ENQUEUE_TARGET && queued === total,
        },
        {
          metric: 'bridge CPU s (main thread + expression threads) / peak RSS MB',
          value: `${round(bridgeStopped.cpuSeconds, 2)} / ${round(bridgeStopped.memory?.peakRssMb, 1)}`,
        },
      ],
    };
  }

  ctx.log(`bridge enqueued ${queued} jobs in ${enqueue.seconds.toFixed(2)} s; draining with one worker`);
  const [worker] = await startPipeline(ctx, 'fan-out', tenantsFile, ['worker']);
  const got = await waitForDeliveries(ctx.receiver, 'fan', total, {
    timeoutMs: ctx.quick ? 60_000 : 120_000,
    procs: [worker],
  });
  const workerStopped = await worker.stop();
  const perSec = ratePerSec(got.distinct, got.firstAt, got.lastAt);
  return {
    data: {
      events,
      endpoints,
      jobs: queued,
      enqueueSeconds: round(enqueue.seconds, 3),
      enqueueJobsPerSec: round(enqueuePerSec),
      delivered: got.distinct,
      timedOut: got.timedOut,
      deliveriesPerSec: round(perSec),
      bridge: { cpuSeconds: round(bridgeStopped.cpuSeconds, 2), peakRssMb: round(bridgeStopped.memory?.peakRssMb, 1) },
      worker: { cpuSeconds: round(workerStopped.cpuSeconds, 2), peakRssMb: round(workerStopped.memory?.peakRssMb, 1) },
    },
    rows: [
      {
        metric: `bridge enqueue jobs/s (${events} events × ${endpoints} endpoints = ${queued} jobs, bridge alone)`,
        value: enqueuePerSec,
        target: `≥ ${ENQUEUE_TARGET.toLocaleString('en-US')}/s`,
        pass: enqueuePerSec >= ENQUEUE_TARGET && queued === total,
      },
      {
        metric: `deliveries/s draining them, 1 worker, ${endpoints} origins (${got.distinct} of ${total}${got.timedOut ? ', TIMED OUT' : ''})`,
        value: perSec,
      },
    ],
  };
}
