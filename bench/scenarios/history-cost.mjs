// What the delivery log (issue 13, docs/delivery-log.md) costs: pipeline-throughput with the log
// on (the default) and off (WSS_HISTORY_RETENTION=0), alternated so a busy machine weighs on both
// alike, median of ctx.repeats pairs; and the Redis bytes per attempt, read with MEMORY USAGE
// (SAMPLES 0: every element) over every history key after the "on" run. Budgets: ≤ 250 bytes per
// attempt, ≤ 10 % of throughput.
import { median, round } from '../lib/stats.mjs';
import { pipelineThroughput } from './pipeline.mjs';

const BYTES_BUDGET = 250;
const THROUGHPUT_FLOOR = 0.9;

/** Sum of MEMORY USAGE over the history keys, and how many attempt lines they hold. */
async function historyFootprint(redis) {
  let bytes = 0;
  let keys = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', 'bench*:history*', 'COUNT', 1_000);
    cursor = next;
    for (const k of batch) {
      keys++;
      bytes += Number(await redis.memory('USAGE', k, 'SAMPLES', 0));
    }
  } while (cursor !== '0');
  return { bytes, keys };
}

export async function historyCost(ctx) {
  const n = ctx.quick ? 5_000 : 20_000;
  const perSec = { on: [], off: [] };
  const cpu = { on: [], off: [] };
  let footprint;
  for (let r = 0; r < ctx.repeats; r++) {
    for (const mode of r % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
      await ctx.redis.client.flushall();
      await ctx.receiver.reset();
      const res = await pipelineThroughput(ctx, {
        n,
        label: `history-${mode}-${r}`,
        scenario: `history-${mode}`,
        env: mode === 'off' ? { WSS_HISTORY_RETENTION: '0' } : {},
      });
      if (res.data.timedOut) throw new Error(`history ${mode}: timed out (${res.data.delivered} of ${n})`);
      perSec[mode].push(res.data.deliveriesPerSec);
      const c = res.data.cost;
      cpu[mode].push([c.worker.cpuSecondsPer1k, c.bridge.cpuSecondsPer1k, c.redis.cpuSecondsPer1k]);
      if (mode === 'on' && !footprint)
        footprint = { ...(await historyFootprint(ctx.redis.client)), attempts: res.data.requests };
      if (mode === 'off' && (await historyFootprint(ctx.redis.client)).keys !== 0)
        throw new Error('WSS_HISTORY_RETENTION=0 still wrote history keys');
    }
  }
  const on = median(perSec.on);
  const off = median(perSec.off);
  const ratio = on / off;
  const perAttempt = footprint.bytes / footprint.attempts;
  // CPU per delivery is steadier than deliveries/s on a shared machine: the cost shows there too.
  const cpuMedian = (m) => [0, 1, 2].map((i) => round(median(cpu[m].map((x) => x[i])), 3));
  return {
    data: {
      events: n,
      deliveriesPerSec: { on: perSec.on.map((v) => round(v)), off: perSec.off.map((v) => round(v)) },
      ratio: round(ratio, 3),
      historyBytes: footprint.bytes,
      historyKeys: footprint.keys,
      attempts: footprint.attempts,
      bytesPerAttempt: round(perAttempt, 1),
      cpuSecondsPer1k: { on: cpuMedian('on'), off: cpuMedian('off') },
    },
    rows: [
      {
        metric: `Redis bytes per attempt for the log (MEMORY USAGE of ${footprint.keys} keys / ${footprint.attempts} attempts)`,
        value: perAttempt,
        digits: 1,
        target: `≤ ${BYTES_BUDGET}`,
        pass: perAttempt <= BYTES_BUDGET,
      },
      {
        metric: `deliveries/s with the log vs without (median of ${ctx.repeats}: ${Math.round(on)} / ${Math.round(off)})`,
        value: ratio,
        digits: 3,
        target: `≥ ${THROUGHPUT_FLOOR}`,
        pass: ratio >= THROUGHPUT_FLOOR,
      },
      {
        metric: 'CPU s per 1k deliveries, worker / bridge / redis: with the log | without',
        value: `${cpuMedian('on').join(' / ')} | ${cpuMedian('off').join(' / ')}`,
      },
    ],
  };
}
