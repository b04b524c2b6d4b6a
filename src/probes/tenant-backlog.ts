// Queue depth per tenant, for wss_tenant_backlog. BullMQ keeps no per-tenant count, so this reads
// the ids of every queued job (waiting, paused, prioritized, delayed, active: job ids start with
// `<tenant>.`) in chunks and counts them. Cost: O(queued jobs) per computation, about 45 bytes
// of reply per job (100,000 queued jobs ≈ 4.5 MB read, measured 61 ms); so it runs at most once per
// MIN_INTERVAL_MS and the scrape shows the last result in between.
import type { RedisClient } from '../redis/client.js';
import { jobTenant } from '../queue/job.js';

const CHUNK = 10_000;
export const BACKLOG_MIN_INTERVAL_MS = 10_000;

async function countIds(
  redis: RedisClient,
  key: string,
  kind: 'list' | 'zset',
  into: Map<string, number>,
): Promise<void> {
  for (let start = 0; ; start += CHUNK) {
    const ids =
      kind === 'list'
        ? await redis.lrange(key, start, start + CHUNK - 1)
        : await redis.zrange(key, String(start), String(start + CHUNK - 1));
    for (const id of ids) {
      const tenant = jobTenant(id);
      if (tenant === undefined) continue;
      into.set(tenant, (into.get(tenant) ?? 0) + 1);
    }
    if (ids.length < CHUNK) return;
  }
}

/**
 * Jobs queued or in flight per tenant, summed over `queueNames` (every shard, and old queues).
 * Jobs moving between states meanwhile may count twice or not at all.
 */
export async function tenantBacklog(
  redis: RedisClient,
  prefix: string,
  queueNames: readonly string[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const name of queueNames) {
    const base = `${prefix}:${name}`;
    await countIds(redis, `${base}:wait`, 'list', out);
    await countIds(redis, `${base}:paused`, 'list', out);
    await countIds(redis, `${base}:active`, 'list', out);
    await countIds(redis, `${base}:prioritized`, 'zset', out);
    await countIds(redis, `${base}:delayed`, 'zset', out);
  }
  return out;
}
