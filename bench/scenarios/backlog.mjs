// A large backlog: 200,000 queued deliveries of ~300-byte bodies. The bridge's peak RSS while
// enqueuing them, Redis memory per queued delivery (stream removed), the worker's peak RSS
// while draining (bounded in time: RSS plateaus long before the queue is empty).
import { sleep } from '../lib/env.mjs';
import { loadStream, paddedData, STREAM, waitForDeliveries, writeTenantsFile } from '../lib/service.mjs';
import { ratePerSec, round } from '../lib/stats.mjs';
import { queuedJobs, watchBridge } from './fan-out.mjs';
import { NO_HOLD, startPipeline, stopAll } from './pipeline.mjs';

const WORKER_RSS_MB = 200;
const REDIS_BYTES = 1.5 * 1024;

async function usedMemory(ctx) {
  await sleep(200);
  return Number((await ctx.redis.info('memory'))['used_memory']);
}

export async function backlogMemory(ctx) {
  const endpoints = 100;
  const events = ctx.quick ? 200 : 2_000;
  const total = events * endpoints;
  const drainMs = ctx.quick ? 10_000 : 45_000;
  const ports = await ctx.receiver.listen('backlog', 10);
  const tenantsFile = writeTenantsFile(ctx.runDir, 'backlog', [
    {
      id: 'big',
      endpoints: Array.from({ length: endpoints }, (_, i) => ({
        id: `ep${String(i).padStart(3, '0')}`,
        url: `http://127.0.0.1:${ports[i % ports.length]}/hook/${i}`,
      })),
    },
  ]);
  const before = await usedMemory(ctx);
  await loadStream(ctx.redis.client, events, (i) => ({ tenant: 'big', type: 'order.updated', data: paddedData(i) }));

  const [bridge] = await startPipeline(ctx, 'backlog', tenantsFile, ['bridge'], NO_HOLD);
  let enqueue;
  try {
    enqueue = await watchBridge(ctx, events, bridge, 180_000);
  } catch (err) {
    await stopAll([bridge]);
    throw err;
  }
  const bridgeStopped = await bridge.stop();
  const queued = await queuedJobs(ctx.redis.client);
  const withStream = await usedMemory(ctx);
  // Only the queue (and the few-KB registry) is left: the per-delivery cost of a backlog.
  await ctx.redis.client.del(STREAM, `${STREAM}:dead`);
  const queueOnly = await usedMemory(ctx);
  const bytesPerDelivery = (queueOnly - before) / queued;

  ctx.log(`${queued} queued, ${round(bytesPerDelivery)} B each; draining for up to ${drainMs / 1000} s`);
  const [worker] = await startPipeline(ctx, 'backlog', tenantsFile, ['worker']);
  const got = await waitForDeliveries(ctx.receiver, 'backlog', total, { timeoutMs: drainMs, procs: [worker] });
  const workerStopped = await worker.stop();
  const left = await queuedJobs(ctx.redis.client);
  const bridgeRss = bridgeStopped.memory?.peakRssMb ?? NaN;
  const workerRss = workerStopped.memory?.peakRssMb ?? NaN;
  return {
    data: {
      queued,
      bodyBytes: 300,
      enqueueJobsPerSec: round(queued / enqueue.seconds),
      redisUsedMemory: { before, withStream, queueOnly, bytesPerDelivery: round(bytesPerDelivery) },
      bridgePeakRssMb: round(bridgeRss, 1),
      workerPeakRssMb: round(workerRss, 1),
      drained: got.distinct,
      drainSeconds: round((got.lastAt - got.firstAt) / 1000, 1),
      drainPerSec: round(ratePerSec(got.distinct, got.firstAt, got.lastAt)),
      leftInQueue: left,
    },
    rows: [
      { metric: `bridge peak RSS MB enqueuing ${queued} deliveries`, value: bridgeRss, digits: 1 },
      {
        metric: `worker peak RSS MB draining (${got.distinct} delivered${got.timedOut ? ` in ${drainMs / 1000} s cap` : ''})`,
        value: workerRss,
        digits: 1,
        target: `≤ ${WORKER_RSS_MB} MB`,
        pass: workerRss <= WORKER_RSS_MB,
      },
      {
        metric: 'Redis used_memory per queued ~300-byte delivery (stream removed)',
        value: bytesPerDelivery,
        unit: 'B',
        target: '≤ 1,536 B',
        pass: bytesPerDelivery <= REDIS_BYTES,
      },
    ],
  };
}
