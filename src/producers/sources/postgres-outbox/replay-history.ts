// Replay from the outbox (`wss replay`, `POST /api/replay` with WSS_SOURCE=postgres-outbox): with
// WSS_OUTBOX_KEEP the table keeps published rows (for WSS_OUTBOX_RETENTION), so a tenant's events
// of a time range are read back from it by `created_at`, as the same messages the bridge made of
// them (same event ids). Without WSS_OUTBOX_KEEP the rows are gone once published and replay is
// refused, saying why. A range reaching before the oldest row the table keeps, when rows before
// it were deleted (its row id is above where the ids start), is refused rather than sent in part.
import pg from 'pg';
import type { OutboxTableName } from '../../../config/outbox-parsers.js';
import type { ReplayHistory } from '../source.js';
import { clientConfig, unavailable } from './connect.js';
import { outboxNames, outboxStatements, rowMessage, type OutboxRow } from './sql.js';

export interface OutboxHistoryOptions {
  url: string;
  table: OutboxTableName;
  keep: boolean;
  retentionMs: number;
}

interface Window {
  first_id: string | null;
  first_ms: string | null;
  seq_start: string;
  used: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function outboxHistory(o: OutboxHistoryOptions): ReplayHistory & { close(): Promise<void> } {
  const names = outboxNames(o.table);
  const sql = outboxStatements(names);
  let pool: pg.Pool | undefined;
  const rows = async <R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> => {
    if (!pool) {
      pool = new pg.Pool({ ...clientConfig(o.url, 'outbox-replay'), max: 1, idleTimeoutMillis: 10_000 });
      pool.on('error', () => {});
    }
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (err) {
      throw unavailable(o.url, err);
    }
  };
  return {
    async refusal(fromMs) {
      if (!o.keep)
        return `replay reads the outbox ${names.text}, which deletes rows once they are published: set WSS_OUTBOX_KEEP=true to keep them for replay`;
      const [w] = await rows<Window>(sql.window, [names.table]);
      if (!w) return undefined;
      const kept = w.first_ms === null ? 'it holds no rows now' : `it keeps rows from ${iso(Number(w.first_ms))} on`;
      const deleted = w.first_id === null ? w.used : BigInt(w.first_id) > BigInt(w.seq_start);
      if (deleted && (w.first_ms === null || Number(w.first_ms) > fromMs))
        return `the range starts at ${iso(fromMs)}, but older rows were deleted from the outbox ${names.text} (WSS_OUTBOX_RETENTION, or by hand); ${kept}`;
      return undefined;
    },
    async read(tenant, fromMs, toMs, max) {
      const found = await rows<OutboxRow>(sql.range, [tenant, fromMs, toMs, max + 1]);
      return found.map((r) => rowMessage(names.text, r));
    },
    async close() {
      await pool?.end();
      pool = undefined;
    },
  };
}
