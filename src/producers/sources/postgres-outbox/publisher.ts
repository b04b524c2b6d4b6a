// Publishing to the outbox (`wss publish`, `POST /api/events`, operational events with
// WSS_SOURCE=postgres-outbox): one INSERT, committed on its own. An application writes the same
// row inside its own transaction instead (docs/sources/postgres-outbox.md). The pool connects on
// the first publish and reconnects by itself; its errors name the database without the password.
import pg from 'pg';
import type { OutboxTableName } from '../../../config/outbox-parsers.js';
import type { EventPublisher } from '../source.js';
import { clientConfig, OutboxTableError, unavailable } from './connect.js';
import { defaultEventId, outboxNames, outboxStatements } from './sql.js';

/** Returns the event id: the producer's, else the one the bridge will give the row. */
export function outboxPublisher(url: string, table: OutboxTableName): EventPublisher {
  const names = outboxNames(table);
  const { insert, insertTraced } = outboxStatements(names);
  let pool: pg.Pool | undefined;
  let traceColumns = true;
  const poolOf = () => {
    if (!pool) {
      pool = new pg.Pool({ ...clientConfig(url, 'outbox-publish'), max: 2, idleTimeoutMillis: 30_000 });
      // An idle connection that fails is dropped by the pool; the next publish opens another.
      pool.on('error', () => {});
    }
    return pool;
  };
  return {
    async publish(f) {
      // The outbox has no column for it (docs/ordering.md): refused rather than dropped.
      if (f['orderingKey'] !== undefined)
        throw new OutboxTableError(
          'the PostgreSQL outbox cannot carry orderingKey: use an endpoint orderingKey expression',
        );
      let rows: Array<{ row_id: string; created_ms: string }>;
      try {
        const values = [f['id'] ?? null, f['tenant'], f['type'], f['data'], f['priority'] ?? null];
        // The trace context columns only when there is a context and the table has them (a
        // table made before them takes the event without its context).
        if (f['traceparent'] !== undefined && traceColumns) {
          try {
            ({ rows } = await poolOf().query(insertTraced, [...values, f['traceparent'], f['tracestate'] ?? null]));
          } catch (err) {
            if ((err as { code?: unknown }).code !== '42703') throw err;
            traceColumns = false;
            ({ rows } = await poolOf().query(insert, values));
          }
        } else ({ rows } = await poolOf().query(insert, values));
      } catch (err) {
        if ((err as { code?: unknown }).code === '42P01')
          throw new OutboxTableError(`outbox table ${names.text} does not exist: create it with \`wss outbox init\``);
        throw unavailable(url, err);
      }
      const row = rows[0]!;
      return f['id'] ?? defaultEventId(names.text, row.row_id, Number(row.created_ms));
    },
    async close() {
      await pool?.end();
      pool = undefined;
    },
  };
}
