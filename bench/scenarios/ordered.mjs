// Ordering keys (issue 22, docs/ordering.md): 1,000 keys × 50 events to one endpoint against the
// same events without keys, in the same run (throughput ratio, goal ≥ 0.7); Redis bytes per
// active key (MEMORY USAGE of a key's queue and state while the run is in progress); and the
// latency cost of the ordering check at a steady rate where no event waits behind another.
import { redisClient, waitUntil } from '../lib/env.mjs';
import { loadStream, paddedData, publishPaced, PREFIX, waitForDeliveries, writeTenantsFile } from '../lib/service.mjs';
import { latencySummary, median, ratePerSec, round } from '../lib/stats.mjs';
import { mapRound, startPipeline, stopAll, warmUp } from './pipeline.mjs';

const RATIO_TARGET = 0.7;

/** One run: load `n` events (keyed by `keyOf(i)` if given), start bridge + worker, time first→last delivery. */
async function throughputRun(ctx, label, n, keyOf, sampleMemory) {
  const [port] = await ctx.receiver.listen(label);
  const tenantsFile = writeTenantsFile(ctx.runDir, label, [
    { id: 'bench', endpoints: [{ id: 'ep1', url: `http://127.0.0.1:${port}/hook` }] },
  ]);
  await ctx.redis.client.flushall();
  await loadStream(ctx.redis.client, n, (i) => ({
    tenant: 'bench',
    type: 'order.updated',
    data: paddedData(i),
    ...(keyOf ? { orderingKey: keyOf(i) } : {}),
  }));
  const procs = await startPipeline(ctx, label, tenantsFile);
  let memory;
  try {
    if (sampleMemory) memory = await sampleKeyBytes(ctx, procs, label, n);
    const got = await waitForDeliveries(ctx.receiver, label, n, { timeoutMs: ctx.quick ? 120_000 : 300_000, procs });
    return { perSec: ratePerSec(got.distinct, got.firstAt, got.lastAt), got, memory };
  } finally {
    await stopAll(procs);
  }
}

/** While deliveries run: MEMORY USAGE of up to 100 keys' queue + state hash, and their number. */
async function sampleKeyBytes(ctx, procs, label, n) {
  const r = ctx.redis.client;
  await waitUntil(async () => ((await ctx.receiver.stats())[label]?.distinct ?? 0) >= n / 10, {
    timeoutMs: 120_000,
    everyMs: 50,
    what: 'a tenth delivered',
  });
  const [, queues] = await r.scan('0', 'MATCH', `${PREFIX}:ord:q:*`, 'COUNT', 100_000);
  const sample = queues.slice(0, 100);
  const bytes = [];
  for (const q of sample) {
    const id = q.slice(q.lastIndexOf(':') + 1);
    const [qb, sb] = await Promise.all([r.memory('USAGE', q), r.memory('USAGE', `${PREFIX}:ord:s:${id}`)]);
    const members = await r.zcard(q);
    if (qb !== null && sb !== null) bytes.push({ total: Number(qb) + Number(sb), members });
  }
  const liveBytes = Number((await r.memory('USAGE', `${PREFIX}:ord:live`)) ?? 0);
  const liveMembers = await r.zcard(`${PREFIX}:ord:live`);
  return {
    activeKeys: queues.length,
    bytesPerActiveKey: median(bytes.map((b) => b.total)),
    jobsPerSampledKey: median(bytes.map((b) => b.members)),
    liveSetBytesPerKey: liveMembers > 0 ? liveBytes / liveMembers : 0,
  };
}

async function latencyRun(ctx, label, keyed) {
  const rate = 200;
  const durationMs = ctx.quick ? 5_000 : 15_000;
  const [port] = await ctx.receiver.listen(label);
  const tenantsFile = writeTenantsFile(ctx.runDir, label, [
    { id: 'bench', endpoints: [{ id: 'ep1', url: `http://127.0.0.1:${port}/hook` }] },
  ]);
  await ctx.redis.client.flushall();
  const procs = await startPipeline(ctx, label, tenantsFile);
  const publisher = redisClient(ctx.redis.url);
  // 1,000 keys at 200/s: a key's events are 5 s apart, so none waits behind another.
  const key = (i) => (keyed ? { orderingKey: `acct-${i % 1_000}` } : {});
  try {
    await warmUp(ctx, publisher, label, procs, (i) => ({
      tenant: 'bench',
      type: 'order.updated',
      data: paddedData(i),
      id: `W-${i}`,
      ...key(i + 500),
    }));
    const sent = await publishPaced(publisher, {
      ratePerSec: rate,
      durationMs,
      fieldsFor: (i, id) => ({ tenant: 'bench', type: 'order.updated', data: paddedData(i), id, ...key(i) }),
    });
    await waitForDeliveries(ctx.receiver, label, sent, { timeoutMs: 30_000, procs });
    return mapRound(latencySummary((await ctx.receiver.stats(true))[label]?.latencies ?? []), 2);
  } finally {
    publisher.disconnect();
    await stopAll(procs.filter((p) => !p.exited()));
  }
}

export async function ordered(ctx) {
  const keys = ctx.quick ? 200 : 1_000;
  const perKey = 50;
  const n = keys * perKey;
  ctx.log(`${n} events without keys`);
  const plain = await throughputRun(ctx, 'unordered', n);
  ctx.log(`${keys} keys × ${perKey} events`);
  // Interleaved: event i has key i mod keys, as many independent streams of a producer do.
  const keyed = await throughputRun(ctx, 'ordered', n, (i) => `acct-${i % keys}`, true);
  const ratio = keyed.perSec / plain.perSec;
  ctx.log('latency at 200/s, without and with keys');
  const latPlain = await latencyRun(ctx, 'lat-unordered', false);
  const latKeyed = await latencyRun(ctx, 'lat-ordered', true);
  const m = keyed.memory;
  return {
    data: {
      events: n,
      keys,
      unorderedPerSec: round(plain.perSec),
      orderedPerSec: round(keyed.perSec),
      ratio: round(ratio, 3),
      orderedDelivered: keyed.got.distinct,
      memory: m && {
        activeKeys: m.activeKeys,
        bytesPerActiveKey: round(m.bytesPerActiveKey),
        jobsPerSampledKey: m.jobsPerSampledKey,
        liveSetBytesPerKey: round(m.liveSetBytesPerKey, 1),
      },
      latencyMs: { unordered: latPlain, ordered: latKeyed },
    },
    rows: [
      {
        metric: `${keys} keys × ${perKey} events vs no keys, deliveries/s (same run: ${Math.round(plain.perSec).toLocaleString('en-US')}/s without)`,
        value: ratio,
        digits: 3,
        target: `≥ ${RATIO_TARGET}`,
        pass: ratio >= RATIO_TARGET && !keyed.got.timedOut && !plain.got.timedOut,
      },
      { metric: 'ordered deliveries/s first→last', value: keyed.perSec },
      {
        metric: `Redis bytes per active key (queue + state, median of ${Math.min(100, m?.activeKeys ?? 0)}, ~${m?.jobsPerSampledKey} jobs each) + live-set share`,
        value: m ? `${round(m.bytesPerActiveKey)} + ${round(m.liveSetBytesPerKey, 1)}` : 'n/a',
      },
      {
        metric: 'XADD→receiver ms at 200/s, no wait behind a key: p50 / p99 without keys → with keys',
        value: `${latPlain.p50} / ${latPlain.p99} → ${latKeyed.p50} / ${latKeyed.p99}`,
      },
    ],
  };
}
