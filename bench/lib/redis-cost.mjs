// What Redis spends per job: CPU seconds of the redis-server process and the commands it ran
// (INFO commandstats), read before and after a stretch of work. The queue ceiling measures it
// for BullMQ alone (no-op jobs); the pipeline for a whole delivery; their ratio says how much
// Redis work the product adds on top of BullMQ's own minimum (issue 23: goal <= 1.5).
import { cpuSeconds } from './env.mjs';

/** `cmdstat_xadd:calls=3,usec=...` lines → { xadd: 3, ... } */
export function parseCommandStats(info) {
  const calls = {};
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) calls[m[1]] = Number(m[2]);
  }
  return calls;
}

/** A snapshot now; `.since(n)` gives the cost of the work between per unit (n jobs or deliveries). */
export async function redisCostMark(redis) {
  const cpu0 = cpuSeconds(redis.pid) ?? NaN;
  const calls0 = parseCommandStats(await redis.client.info('commandstats'));
  return {
    async since(n) {
      const cpu = (cpuSeconds(redis.pid) ?? NaN) - cpu0;
      const calls1 = parseCommandStats(await redis.client.info('commandstats'));
      const diff = {};
      let total = 0;
      for (const [cmd, c] of Object.entries(calls1)) {
        const d = c - (calls0[cmd] ?? 0);
        if (d > 0) {
          diff[cmd] = d;
          total += d;
        }
      }
      // The bench's own INFO calls are not the product's.
      total -= diff.info ?? 0;
      delete diff.info;
      const top = Object.entries(diff)
        .sort((a, b) => b[1] - a[1])
        .map(([cmd, c]) => [cmd, Math.round((c / n) * 100) / 100]);
      return {
        cpuMsPerJob: (cpu * 1000) / n,
        commandsPerJob: total / n,
        topPerJob: Object.fromEntries(top.slice(0, 8)),
        perJob: Object.fromEntries(top),
      };
    },
  };
}
