// Where replay reads past events, by WSS_SOURCE: the Redis Stream (kept for
// WSS_STREAM_RETENTION), the PostgreSQL outbox when WSS_OUTBOX_KEEP keeps published rows, and
// nothing for the brokers (AMQP, NATS): their events were never in the stream, so replay refuses
// and says so rather than replaying nothing.
import type { SharedConfig } from '../config.js';
import { pgUrlOf } from '../producers/sources/index.js';
import { outboxHistory } from '../producers/sources/postgres-outbox/replay-history.js';
import type { ReplayHistory } from '../producers/sources/source.js';
import type { RedisClient } from '../redis/client.js';
import { streamHistory } from './stream-window.js';

/** The history replay reads; `close` ends any connection of its own. */
export function createReplayHistory(
  config: Pick<SharedConfig, 'source' | 'stream' | 'streamRetentionMs'>,
  redis: RedisClient,
): { history: ReplayHistory; close(): Promise<void> } {
  const kind = config.source.kind;
  if (kind === 'postgres-outbox') {
    const pg = config.source.postgres;
    const history = outboxHistory({
      url: pgUrlOf(config),
      table: pg.table,
      keep: pg.keep,
      retentionMs: pg.retentionMs,
    });
    return { history, close: () => history.close() };
  }
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
