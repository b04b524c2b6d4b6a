// source-throughput (issue 19): the whole pipeline (source → one bridge process → BullMQ → one
// worker process → the receiver) with the same events from each source, as a ratio to the Redis
// Streams pipeline of the same run (goal ≥ 0.8), with bridge and broker CPU per 1,000 events.
// Each source is bench/lib/source-<kind>.mjs (skipped when the file is absent), exporting
// `prepareSource({ runDir, n }) → { env, publish(events), brokerCpuSeconds(), close() }`;
// `events` are envelope objects { tenant, type, data, id? }, bulk-loaded before the bridge
// starts. Runs alternate between the sources, so a change in the machine's load hits each alike;
// the median run of each is reported.
import { cpuSeconds } from '../lib/env.mjs';
import { loadStream, paddedData, spawnRole, waitForDeliveries, writeTenantsFile } from '../lib/service.mjs';
import { median, ratePerSec, round } from '../lib/stats.mjs';

const KINDS = ['amqp', 'nats', 'postgres-outbox'];
const TARGET_RATIO = 0.8;

/** The sources whose bench/lib/source-<kind>.mjs exists. */
async function availableSources() {
  const out = [];
  for (const kind of KINDS) {
    try {
      out.push({ kind, mod: await import(`../lib/source-${kind}.mjs`) });
    } catch (err) {
      if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes(`source-${kind}.mjs`)) throw err;
    }
  }
  return out;
}

const eventFor = (i) => ({ tenant: 'bench', type: 'order.updated', data: JSON.parse(paddedData(i)) });

/** One pipeline run on `env`; `load` fills the source before the processes start. */
async function runOnce(ctx, { label, n, env, load, brokerCpu }) {
  await ctx.redis.client.flushall();
  await ctx.receiver.reset();
  const [port] = await ctx.receiver.listen(label);
  const tenantsFile = writeTenantsFile(ctx.runDir, `source-${label}`, [
    { id: 'bench', endpoints: [{ id: 'ep1', url: `http://127.0.0.1:${port}/hook` }] },
  ]);
  await load();
  const redis0 = cpuSeconds(ctx.redis.pid);
  const broker0 = brokerCpu();
  const procs = ['bridge', 'worker'].map((role) =>
    spawnRole(role, {
      redisUrl: ctx.redis.url,
      tenantsFile,
      logDir: ctx.runDir,
      scenario: `source-${label}`,
      env: { ...ctx.childEnv, ...env },
    }),
  );
  let got;
  let redisCpu;
  let brokerCpuUsed;
  const stopped = {};
  try {
    got = await waitForDeliveries(ctx.receiver, label, n, { timeoutMs: ctx.quick ? 60_000 : 180_000, procs });
  } finally {
    redisCpu = cpuSeconds(ctx.redis.pid) - redis0;
    brokerCpuUsed = brokerCpu() - broker0;
    for (const p of procs) stopped[p.role] = await p.stop();
  }
  const per1k = (s) => round((s * 1000) / got.distinct, 3);
  return {
    perSec: ratePerSec(got.distinct, got.firstAt, got.lastAt),
    delivered: got.distinct,
    duplicates: got.requests - got.distinct,
    timedOut: got.timedOut,
    cpuPer1k: {
      bridge: per1k(stopped.bridge.cpuSeconds),
      worker: per1k(stopped.worker.cpuSeconds),
      redis: per1k(redisCpu),
      broker: per1k(brokerCpuUsed),
    },
  };
}

export async function sourceThroughput(ctx) {
  const n = ctx.quick ? 5_000 : 30_000;
  const runs = ctx.quick ? 1 : 3;
  const sources = await availableSources();
  const events = Array.from({ length: n }, (_, i) => eventFor(i));
  const results = { 'redis-stream': [], ...Object.fromEntries(sources.map((s) => [s.kind, []])) };
  for (let run = 0; run < runs; run++) {
    ctx.log(`run ${run + 1}/${runs}: redis-stream`);
    results['redis-stream'].push(
      await runOnce(ctx, {
        label: 'redis-stream',
        n,
        env: {},
        load: () => loadStream(ctx.redis.client, n, (i) => ({ ...events[i], data: JSON.stringify(events[i].data) })),
        brokerCpu: () => NaN,
      }),
    );
    for (const { kind, mod } of sources) {
      ctx.log(`run ${run + 1}/${runs}: ${kind}`);
      const source = await mod.prepareSource({ runDir: ctx.runDir, n });
      try {
        results[kind].push(
          await runOnce(ctx, {
            label: kind,
            n,
            env: source.env,
            load: () => source.publish(events),
            brokerCpu: () => source.brokerCpuSeconds(),
          }),
        );
      } finally {
        await source.close();
      }
    }
  }

  const summary = {};
  for (const [kind, list] of Object.entries(results)) {
    const byRate = [...list].sort((a, b) => a.perSec - b.perSec);
    const mid = byRate[Math.floor((byRate.length - 1) / 2)];
    summary[kind] = {
      ...mid,
      perSecRuns: list.map((r) => round(r.perSec)),
      perSecMedian: round(median(list.map((r) => r.perSec))),
    };
  }
  const base = summary['redis-stream'].perSecMedian;
  const rows = [
    {
      metric: `redis-stream: deliveries/s first→last (${n} events, median of ${runs}${summary['redis-stream'].timedOut ? ', TIMED OUT' : ''}) · CPU s per 1k: bridge / redis`,
      value: `${Math.round(base).toLocaleString('en-US')}/s · ${summary['redis-stream'].cpuPer1k.bridge} / ${summary['redis-stream'].cpuPer1k.redis}`,
    },
  ];
  for (const { kind } of sources) {
    const s = summary[kind];
    const ratio = s.perSecMedian / base;
    s.ratio = round(ratio, 3);
    // Each run against the redis-stream run just before it: slow drifts in the machine's load
    // cancel out better than in the ratio of medians.
    s.pairRatios = results[kind].map((r, i) => round(r.perSec / results['redis-stream'][i].perSec, 2));
    s.pairRatioMedian = round(median(s.pairRatios), 2);
    rows.push(
      {
        metric: `${kind}: deliveries/s as a ratio to redis-stream (${Math.round(s.perSecMedian).toLocaleString('en-US')}/s${s.timedOut ? ', TIMED OUT' : ''}${s.duplicates ? `, ${s.duplicates} duplicates` : ''})`,
        value: ratio,
        digits: 2,
        target: `≥ ${TARGET_RATIO}`,
        pass: ratio >= TARGET_RATIO && !s.timedOut && s.delivered >= n,
      },
      {
        metric: `${kind}: ratio run by run (each to the redis-stream run before it) · median`,
        value: `${s.pairRatios.join(' / ')} · ${s.pairRatioMedian}`,
      },
      {
        metric: `${kind}: CPU s per 1k events: bridge / broker / redis`,
        value: `${s.cpuPer1k.bridge} / ${s.cpuPer1k.broker} / ${s.cpuPer1k.redis}`,
      },
    );
  }
  if (sources.length === 0) rows.push({ metric: 'sources', value: 'none (no bench/lib/source-<kind>.mjs)' });
  return { data: { events: n, runs, sources: summary }, rows };
}
