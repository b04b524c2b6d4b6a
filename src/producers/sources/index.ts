// The source, chosen by WSS_SOURCE: what the bridge reads (createSource) and what publishers
// write to (createPublisher). Every source implements the same contract (source.ts), so the
// bridge loop never knows which one it reads.
import { hostname } from 'node:os';
import type { SharedConfig } from '../../config.js';
import { ConfigError } from '../../lib/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import type { RedisClient } from '../../redis/client.js';
import type { RoleContext } from '../../roles.js';
import { AmqpPublisher } from './amqp/publisher.js';
import { AmqpSource, type AmqpSourceOptions } from './amqp/source.js';
import { natsPublisher } from './nats/publisher.js';
import { NatsSource } from './nats/source.js';
import { outboxPublisher } from './postgres-outbox/publisher.js';
import { PostgresOutboxSource } from './postgres-outbox/source.js';
import { streamPublisher } from './redis-stream/publisher.js';
import { RedisStreamSource } from './redis-stream/source.js';
import type { EventPublisher, Source } from './source.js';

/** WSS_PG_URL, required by the outbox source. */
export function pgUrlOf(config: Pick<SharedConfig, 'source'>): string {
  const url = config.source.postgres.url;
  if (url !== undefined) return url;
  const line = 'WSS_PG_URL: required with WSS_SOURCE=postgres-outbox (postgres://user:password@host:port/database)';
  throw new ConfigError(line, [line]);
}

/** The source, and the bridge's logger (its fields name what is read). */
export function createSource(ctx: RoleContext<'bridge'>): { source: Source; log: Logger } {
  const { config } = ctx;
  const b = config.bridge;
  switch (config.source.kind) {
    case 'amqp': {
      const { url, queue } = config.source.amqp;
      const log = ctx.log.child({ role: 'bridge', source: 'amqp', queue, consumer: b.consumer });
      const options: AmqpSourceOptions = {
        url,
        queue,
        consumer: b.consumer,
        batchSize: b.batchSize,
        batchBytes: b.batchBytes,
        blockMs: b.blockMs,
        maxEntryDeliveries: b.maxEntryDeliveries,
        maxEventBytes: config.maxEventBytes,
      };
      return { source: new AmqpSource(options, log, ctx.now), log };
    }
    case 'nats': {
      const n = config.source.nats;
      const log = ctx.log.child({
        role: 'bridge',
        source: 'nats',
        natsStream: n.stream,
        natsConsumer: n.consumer,
        consumer: b.consumer,
      });
      const source = new NatsSource(
        {
          ...n,
          target: n.url,
          connectionName: `wss-bridge:${b.consumer}`,
          blockMs: b.blockMs,
          batchSize: b.batchSize,
          batchBytes: b.batchBytes,
          maxEntryDeliveries: b.maxEntryDeliveries,
          maxEventBytes: config.maxEventBytes,
        },
        log,
      );
      return { source, log };
    }
    case 'postgres-outbox': {
      const pg = config.source.postgres;
      const log = ctx.log.child({ role: 'bridge', source: 'postgres-outbox', table: pg.table.text });
      const source = new PostgresOutboxSource(
        {
          url: pgUrlOf(config),
          table: pg.table,
          keep: pg.keep,
          retentionMs: pg.retentionMs,
          pollMs: pg.pollMs,
          batchSize: b.batchSize,
          maxEntryDeliveries: b.maxEntryDeliveries,
        },
        log,
        ctx.now,
      );
      return { source, log };
    }
    case 'redis-stream': {
      const { stream, group } = config;
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
  }
}

/**
 * Where this process publishes events: the configured source. `redis` is the process's own
 * connection (the Redis Stream writes on it; other sources open their own, closed by `close`).
 * `log` hears about a broker connection's outages (silent when not given).
 */
export function createPublisher(
  config: Pick<SharedConfig, 'source' | 'stream'>,
  redis: RedisClient,
  log: Logger = createLogger('silent'),
): EventPublisher {
  switch (config.source.kind) {
    case 'amqp': {
      const { url, queue } = config.source.amqp;
      return new AmqpPublisher({ url, queue, name: `wss publisher ${hostname()}-${process.pid}`, now: Date.now });
    }
    case 'nats': {
      const n = config.source.nats;
      return natsPublisher({ ...n, target: n.url, connectionName: 'wss-publisher' }, log);
    }
    case 'postgres-outbox':
      return outboxPublisher(pgUrlOf(config), config.source.postgres.table);
    case 'redis-stream':
      return streamPublisher(redis, config.stream);
  }
}
