// ioredis connections. BullMQ needs maxRetriesPerRequest: null on connections it blocks on;
// we use the same settings everywhere so a Redis restart is ridden out, not fatal.
import { Cluster, Redis } from 'ioredis';
import type { Logger } from './log.js';

/** A connection to one Redis or to a Redis Cluster (ioredis `Cluster`); see src/shards.ts. */
export type RedisClient = Redis | Cluster;

export function createRedis(url: string, name: string, log?: Logger): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: `wss:${name}`,
    // Back off 50 ms, 100 ms … up to 2 s between reconnects, forever.
    retryStrategy: (times) => Math.min(times * 50, 2_000),
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) log?.warn({ conn: name, err: err.message }, 'redis: connection error, reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log?.info({ conn: name }, 'redis: reconnected');
    down = false;
  });
  return redis;
}

/**
 * A new connection like `client` (the union's two `duplicate` signatures differ). Blocking
 * readers and WATCH need their own connection.
 */
export function duplicateClient(client: RedisClient, options: { connectionName?: string } = {}): RedisClient {
  if (client instanceof Cluster) {
    return client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, ...options } });
  }
  return client.duplicate(options);
}
