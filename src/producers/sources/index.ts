// The source, chosen by WSS_SOURCE: what the bridge reads (createSource) and what publishers
// write to (createPublisher). Every source implements the same contract (source.ts), so the
// bridge loop never knows which one it reads.
import type { SharedConfig } from '../../config.js';
import { ConfigError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { RedisClient } from '../../redis/client.js';
import type { ReplayHistory } from '../../replay/replay.js';
import { streamHistory } from '../../replay/stream-window.js';
import type { RoleContext } from '../../roles.js';
import { outboxPublisher } from './postgres-outbox/publisher.js';
import { outboxHistory } from './postgres-outbox/replay-history.js';
import { PostgresOutboxSource } from './postgres-outbox/source.js';
import { streamPublisher } from './redis-stream/publisher.js';
import { RedisStreamSource } from './redis-stream/source.js';
import type { EventPublisher, Source } from './source.js';

function notBuilt(kind: string): never {
  const line = `WSS_SOURCE=${kind}: this source is not available in this build`;
  throw new ConfigError(line, [line]);
}

/** WSS_PG_URL, required by the outbox source. */
function pgUrlOf(config: Pick<SharedConfig, 'source'>): string {
  const url = config.source.postgres.url;
  if (url !== undefined) return url;
  const line = 'WSS_PG_URL: required with WSS_SOURCE=postgres-outbox (postgres://user:password@host:port/database)';
  throw new ConfigError(line, [line]);
}

/** The source, and the bridge's logger (its fields name what is read). */
export function createSource(ctx: RoleContext<'bridge'>): { source: Source; log: Logger } {
  const { config } = ctx;
  if (config.source.kind === 'postgres-outbox') {
    const pg = config.source.postgres;
    const url = pgUrlOf(config);
    const log = ctx.log.child({ role: 'bridge', source: 'postgres-outbox', table: pg.table.text });
    const source = new PostgresOutboxSource(
      {
        url,
        table: pg.table,
        keep: pg.keep,
        retentionMs: pg.retentionMs,
        pollMs: pg.pollMs,
        batchSize: config.bridge.batchSize,
        maxEntryDeliveries: config.bridge.maxEntryDeliveries,
      },
      log,
      ctx.now,
    );
    return { source, log };
  }
  if (config.source.kind !== 'redis-stream') notBuilt(config.source.kind);
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

/**
 * Where this process publishes events: the configured source. `redis` is the process's own
 * connection (the Redis Stream writes on it; other sources open their own, closed by `close`).
 */
export function createPublisher(config: Pick<SharedConfig, 'source' | 'stream'>, redis: RedisClient): EventPublisher {
  if (config.source.kind === 'postgres-outbox') return outboxPublisher(pgUrlOf(config), config.source.postgres.table);
  if (config.source.kind !== 'redis-stream') notBuilt(config.source.kind);
  return streamPublisher(redis, config.stream);
}

/**
 * Where replay reads past events: the Redis Stream with WSS_SOURCE=redis-stream; the outbox
 * itself with postgres-outbox (which refuses unless WSS_OUTBOX_KEEP keeps published rows); any
 * other source refuses (its events were never in the stream). `close` ends any connection of its own.
 */
export function createReplayHistory(
  config: Pick<SharedConfig, 'source' | 'stream' | 'streamRetentionMs'>,
  redis: RedisClient,
): { history: ReplayHistory; close(): Promise<void> } {
  if (config.source.kind === 'postgres-outbox') {
    const pg = config.source.postgres;
    const history = outboxHistory({
      url: pgUrlOf(config),
      table: pg.table,
      keep: pg.keep,
      retentionMs: pg.retentionMs,
    });
    return { history, close: () => history.close() };
  }
  const kind = config.source.kind;
  const history: ReplayHistory =
    kind === 'redis-stream'
      ? streamHistory(redis, config.stream, config.streamRetentionMs)
      : {
          refusal: async () =>
            `replay reads the Redis Stream, and with WSS_SOURCE=${kind} the events were never in it (see docs/sources/)`,
          read: async () => [],
        };
  return { history, close: async () => {} };
}
