// What WSS_STREAM_RETENTION costs: the Redis memory of a stream holding N typical events
// (tenant, type, id and a `data` of ~200 B, ~300 B envelope, and ~1 KB), by MEMORY USAGE with
// every radix-tree node counted (SAMPLES 0). Per entry = usage / N. Retention keeps
// (events per second × retention) entries, so this times the event rate is the cost.
import { paddedData } from '../lib/service.mjs';
import { round } from '../lib/stats.mjs';

const KEY = 'retention:events';

export async function streamRetention(ctx) {
  const n = ctx.quick ? 10_000 : 100_000;
  const rows = [];
  const data = {};
  for (const bodyBytes of [300, 1_024]) {
    await ctx.redis.client.del(KEY);
    let dataBytes = 0;
    for (let i = 0; i < n; i += 1_000) {
      const p = ctx.redis.client.pipeline();
      for (let j = i; j < Math.min(n, i + 1_000); j++) {
        const d = paddedData(j, bodyBytes);
        dataBytes += d.length;
        p.xadd(KEY, '*', 'tenant', `tenant-${j % 50}`, 'type', 'order.updated', 'id', `evt-${j}`, 'data', d);
      }
      await p.exec();
    }
    const usage = Number(await ctx.redis.client.call('MEMORY', 'USAGE', KEY, 'SAMPLES', '0'));
    const perEntry = usage / n;
    const overhead = perEntry - dataBytes / n;
    data[`${bodyBytes}B`] = {
      entries: n,
      bytes: usage,
      perEntry: round(perEntry),
      dataBytes: round(dataBytes / n),
      overhead: round(overhead),
    };
    rows.push({ metric: `bytes per entry, ~${round(dataBytes / n)} B data (${n} entries)`, value: perEntry });
    rows.push({ metric: `  of which stream overhead beyond data`, value: overhead });
  }
  await ctx.redis.client.del(KEY);
  return { data, rows };
}
