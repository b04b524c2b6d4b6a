// Isolation between tenants (issue 10): tenant `noisy` has a large backlog queued on one endpoint
// while ten other tenants publish 20 events/s each. Their XADD→receiver latency must not grow
// with the backlog's length, and the noisy tenant must still drain at about the pipeline's
// speed (compared with pipeline-throughput of the same run).
import { redisClient, waitUntil } from '../lib/env.mjs';
import {
  assertAlive,
  groupProgress,
  loadStream,
  paddedData,
  publishPaced,
  waitForDeliveries,
  writeTenantsFile,
} from '../lib/service.mjs';
import { latencySummary, ratePerSec, round } from '../lib/stats.mjs';
import { mapRound, startPipeline, stopAll } from './pipeline.mjs';

const QUIET = 10;
const QUIET_RATE = 20;
const P99_MS = 50;
const DRAIN_RATIO = 0.9;

export async function noisyNeighbour(ctx) {
  const n = ctx.quick ? 20_000 : 100_000;
  const publishMs = ctx.quick ? 3_000 : 15_000;
  const [noisyPort] = await ctx.receiver.listen('noisy');
  const quietPorts = await ctx.receiver.listen('quiet', QUIET);
  const tenants = [
    { id: 'noisy', endpoints: [{ id: 'ep1', url: `http://127.0.0.1:${noisyPort}/hook` }] },
    ...quietPorts.map((port, i) => ({
      id: `quiet${i}`,
      endpoints: [{ id: 'ep1', url: `http://127.0.0.1:${port}/hook` }],
    })),
  ];
  const tenantsFile = writeTenantsFile(ctx.runDir, 'noisy-neighbour', tenants);
  ctx.log(`loading ${n} events of tenant noisy`);
  await loadStream(ctx.redis.client, n, (i) => ({
    tenant: 'noisy',
    type: 'order.updated',
    data: paddedData(i),
    id: `N-${i}`,
  }));

  const procs = await startPipeline(ctx, 'noisy-neighbour', tenantsFile);
  const publisher = redisClient(ctx.redis.url);
  try {
    // The backlog is in the delivery queue (every entry acknowledged by the bridge) and draining.
    await waitUntil(
      async () => {
        assertAlive(...procs);
        return (await groupProgress(ctx.redis.client)).acked >= n;
      },
      { timeoutMs: ctx.quick ? 60_000 : 180_000, everyMs: 50, what: `the bridge to enqueue ${n} events` },
    );
    const atStart = (await ctx.receiver.stats())['noisy']?.distinct ?? 0;
    ctx.log(
      `backlog enqueued (${n - atStart} still queued); ${QUIET} tenants publish ${QUIET_RATE}/s each for ${publishMs / 1000} s`,
    );
    const sent = await publishPaced(publisher, {
      ratePerSec: QUIET * QUIET_RATE,
      durationMs: publishMs,
      fieldsFor: (i, id) => ({ tenant: `quiet${i % QUIET}`, type: 'order.updated', data: paddedData(i), id }),
    });
    const noisyAtEnd = (await ctx.receiver.stats())['noisy']?.distinct ?? 0;
    const quiet = await waitForDeliveries(ctx.receiver, 'quiet', sent, { timeoutMs: 60_000, procs });
    const noisy = await waitForDeliveries(ctx.receiver, 'noisy', n, { timeoutMs: ctx.quick ? 60_000 : 240_000, procs });
    const lat = latencySummary((await ctx.receiver.stats(true))['quiet']?.latencies ?? []);
    await stopAll(procs);

    const drain = ratePerSec(noisy.distinct, noisy.firstAt, noisy.lastAt);
    const pipeline = ctx.pipelineXwssPerSec;
    const ratio = pipeline ? drain / pipeline : NaN;
    // The quiet tenants' events all arrived while the backlog was still draining, or the figure says nothing.
    const overlapped = noisyAtEnd < n;
    return {
      data: {
        backlog: n,
        quietTenants: QUIET,
        quietRatePerSec: QUIET_RATE,
        publishMs,
        quietSent: sent,
        quietDelivered: quiet.distinct,
        backlogLeftWhenPublishingEnded: n - noisyAtEnd,
        quietLatencyMs: mapRound(lat, 2),
        noisyDrainPerSec: round(drain),
        pipelinePerSec: round(pipeline),
        drainRatio: round(ratio, 3),
      },
      rows: [
        {
          metric: `quiet tenants XADD→receiver ms: p50 / p95 / max (${quiet.distinct} of ${sent}; ${n - noisyAtEnd} backlog jobs left at the end)`,
          value: `${lat.p50.toFixed(1)} / ${lat.p95.toFixed(1)} / ${lat.max.toFixed(1)}`,
        },
        {
          metric: `quiet tenants p99 ms beside a ${n.toLocaleString('en-US')}-job backlog`,
          value: lat.p99,
          digits: 1,
          target: `≤ ${P99_MS} ms`,
          pass: lat.p99 <= P99_MS && quiet.distinct >= sent && overlapped,
        },
        Number.isFinite(ratio)
          ? {
              metric: `noisy drain ${Math.round(drain).toLocaleString('en-US')}/s vs pipeline-throughput ${Math.round(pipeline).toLocaleString('en-US')}/s`,
              value: ratio,
              digits: 2,
              target: `≥ ${DRAIN_RATIO}`,
              pass: ratio >= DRAIN_RATIO && !noisy.timedOut,
            }
          : { metric: `noisy drain deliveries/s (ratio: run pipeline-throughput in the same run)`, value: drain },
      ],
    };
  } finally {
    publisher.disconnect();
    await stopAll(procs.filter((p) => !p.exited()));
  }
}
