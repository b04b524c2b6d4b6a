// What the fleet-wide endpoint limits (issue 10, docs/endpoint-limits.md) cost per delivery,
// alone: the worker's own EndpointLimits (dist/endpoints/limits.js) admits and releases
// 50 deliveries at a time against the bench's redis-server; Redis CPU from /proc, this
// process's CPU from process.cpuUsage. Median of ctx.repeats runs per configuration.
import { Redis } from 'ioredis';
import { cpuSeconds } from '../lib/env.mjs';
import { median, round } from '../lib/stats.mjs';

const CONFIGS = [
  ['rateLimit only', { rateLimit: { max: 100_000, perMs: 1_000 } }],
  ['maxInFlight only', { maxInFlight: 10_000 }],
  ['both', { maxInFlight: 10_000, rateLimit: { max: 100_000, perMs: 1_000 } }],
];

export async function limiterCost(ctx) {
  const { EndpointLimits } = await import('../../dist/endpoints/limits.js');
  const redis = new Redis(ctx.redis.url);
  const log = { warn() {}, info() {} };
  const limits = new EndpointLimits({
    redis,
    prefix: 'bench',
    // One shard on one Redis: the key names of before sharding, as this scenario always measured.
    layout: { count: 1, cluster: false },
    leaseMs: 15_000,
    retryAfterMaxMs: 3_600_000,
    now: () => performance.now(),
    random: Math.random,
    log,
  });
  const n = ctx.quick ? 5_000 : 20_000;
  const data = {};
  const rows = [];
  try {
    for (const [label, cfg] of CONFIGS) {
      const redisUs = [];
      const workerUs = [];
      for (let r = 0; r < ctx.repeats; r++) {
        let i = 0;
        const c0 = cpuSeconds(ctx.redis.pid);
        const u0 = process.cpuUsage();
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            while (i++ < n) {
              const a = await limits.acquire('bench', `ep-${r}`, cfg);
              if (!('lease' in a)) throw new Error(`limiter refused (${a.reason}); the limits should never bind here`);
              limits.release(a.lease);
            }
          }),
        );
        await redis.ping();
        const u = process.cpuUsage(u0);
        redisUs.push(((cpuSeconds(ctx.redis.pid) - c0) * 1e6) / n);
        workerUs.push((u.user + u.system) / n);
      }
      data[label] = { redisUsPerDelivery: round(median(redisUs), 1), workerUsPerDelivery: round(median(workerUs), 1) };
      rows.push({
        metric: `${label}: CPU µs per delivery, redis / worker (median of ${ctx.repeats} × ${n})`,
        value: `${data[label].redisUsPerDelivery} / ${data[label].workerUsPerDelivery}`,
      });
    }
  } finally {
    limits.close();
    redis.disconnect();
  }
  return { data, rows };
}
