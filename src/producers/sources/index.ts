// The bridge's source, chosen by configuration. Only the Redis Stream today; every source
// implements the same contract (source.ts), so the bridge loop never knows which one it reads.
import type { Logger } from '../../lib/log.js';
import type { RoleContext } from '../../roles.js';
import { RedisStreamSource } from './redis-stream/source.js';
import type { Source } from './source.js';

/** The source, and the bridge's logger (its fields name what is read). */
export function createSource(ctx: RoleContext<'bridge'>): { source: Source; log: Logger } {
  const { config } = ctx;
  const { stream, group } = config;
  const b = config.bridge;
  const log = ctx.log.child({ role: 'bridge', stream, group, consumer: b.consumer });
  const source = new RedisStreamSource(
    ctx.redis,
    {
      stream,
      group,
      consumer: b.consumer,
      blockMs: b.blockMs,
      batchSize: b.batchSize,
      batchBytes: b.batchBytes,
      claimIdleMs: b.claimIdleMs,
      claimIntervalMs: b.claimIntervalMs,
      maxEntryDeliveries: b.maxEntryDeliveries,
      streamTrim: b.streamTrim,
      streamRetentionMs: config.streamRetentionMs,
    },
    log,
    ctx.now,
  );
  return { source, log };
}
