// The outbox's SQL, and rows → source messages. Pure: every statement is built here from the
// validated table name (config/outbox-parsers.ts), with every identifier quoted, so the I/O
// modules only pass values as parameters. The table's shape (`wss outbox init`) and the
// statements that read and write it live side by side so they cannot disagree.
import type { OutboxTableName } from '../../../config/outbox-parsers.js';
import type { SourceMessage } from '../source.js';

/** `"name"`: a quoted identifier (the name is already a plain identifier; quoting keeps keywords such as `order` usable). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Every name the outbox uses, quoted where SQL needs it. */
export interface OutboxNames {
  /** As configured, for references and logs: `wss_outbox`, `app.wss_outbox`. */
  text: string;
  /** The table, quoted and schema-qualified when configured so. */
  table: string;
  schema: string | undefined;
  /** The NOTIFY channel: the table's name (without its schema). */
  channel: string;
  /** Key of the advisory lock that lets one bridge at a time claim (claim.ts). */
  lockName: string;
}

export function outboxNames(t: OutboxTableName): OutboxNames {
  const schema = t.schema === undefined ? undefined : quoteIdent(t.schema);
  return {
    text: t.text,
    table: schema === undefined ? quoteIdent(t.name) : `${schema}.${quoteIdent(t.name)}`,
    schema,
    channel: t.name,
    lockName: `wss-outbox:${t.text}`,
  };
}

/**
 * The table, its indexes and the notify trigger, idempotent (IF NOT EXISTS; the trigger only if
 * missing), in one transaction. `keep`: also the index replay reads by (WSS_OUTBOX_KEEP).
 */
export function initSql(t: OutboxTableName, opts: { keep: boolean }): string {
  const n = outboxNames(t);
  const own = (suffix: string) => quoteIdent(`${t.name}_${suffix}`);
  const fn = n.schema === undefined ? own('notify') : `${n.schema}.${own('notify')}`;
  return `-- webhook-sender: the outbox table for WSS_OUTBOX_TABLE=${t.text} (wss outbox init).
-- Idempotent: running it again changes nothing. PostgreSQL 11 or later.
BEGIN;
${n.schema === undefined ? '' : `CREATE SCHEMA IF NOT EXISTS ${n.schema};\n`}CREATE TABLE IF NOT EXISTS ${n.table} (
  row_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id           text,
  tenant       text NOT NULL,
  type         text NOT NULL,
  data         jsonb NOT NULL,
  priority     text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  attempts     integer NOT NULL DEFAULT 0,
  published_at timestamptz,
  traceparent  text,
  tracestate   text
);
-- W3C trace context of the event (docs/observability.md); added to tables made before.
ALTER TABLE ${n.table} ADD COLUMN IF NOT EXISTS traceparent text, ADD COLUMN IF NOT EXISTS tracestate text;
-- What the bridge claims from: unpublished rows in row id order.
CREATE INDEX IF NOT EXISTS ${own('unpublished')} ON ${n.table} (row_id) WHERE published_at IS NULL;
${
  opts.keep
    ? `-- WSS_OUTBOX_KEEP: replay reads a tenant's rows by time.
CREATE INDEX IF NOT EXISTS ${own('tenant_created')} ON ${n.table} (tenant, created_at);
`
    : ''
}-- One notification per inserting statement, sent when its transaction commits.
CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(${literal(n.channel)}, '');
  RETURN NULL;
END
$$;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = ${literal(`${t.name}_notify`)} AND tgrelid = ${literal(n.table)}::regclass) THEN
    CREATE TRIGGER ${own('notify')} AFTER INSERT ON ${n.table} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();
  END IF;
END
$$;
COMMIT;
`;
}

/**
 * The statements the bridge and the publisher run ($n are parameters). `traced`: the table has
 * the trace context columns (checkTable says; a table made before them works without).
 */
export function outboxStatements(n: OutboxNames, opts: { traced?: boolean } = {}) {
  const T = n.table;
  const rowColumns = `row_id::text AS row_id, id, tenant, type, data::text AS data, priority, attempts,
    floor(extract(epoch FROM created_at) * 1000)::bigint::text AS created_ms${opts.traced ? ', traceparent, tracestate' : ''}`;
  return {
    /** $1 = the lock's name. One bridge at a time between `candidates` and `lock` (claim.ts). */
    claimLock: 'SELECT pg_advisory_lock(hashtextextended($1, 0))',
    claimUnlock: 'SELECT pg_advisory_unlock(hashtextextended($1, 0))',
    /** $1 = how many. Unpublished rows no other transaction holds, oldest row id first. */
    candidates: `SELECT row_id::text AS row_id, attempts FROM ${T} WHERE published_at IS NULL ORDER BY row_id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    /** $1 = row ids. Counts a delivery; committed before anything is done with the rows. */
    bump: `UPDATE ${T} SET attempts = attempts + 1 WHERE row_id = ANY($1::bigint[])`,
    /** $1 = row ids. Locks them for the transaction that acknowledges them. */
    lock: `SELECT ${rowColumns} FROM ${T} WHERE row_id = ANY($1::bigint[]) AND published_at IS NULL ORDER BY row_id FOR UPDATE SKIP LOCKED`,
    /** $1 = row ids. */
    ackDelete: `DELETE FROM ${T} WHERE row_id = ANY($1::bigint[])`,
    ackKeep: `UPDATE ${T} SET published_at = now() WHERE row_id = ANY($1::bigint[])`,
    /** $1 = retention in ms, $2 = most rows. Published rows past the retention (WSS_OUTBOX_KEEP). */
    purge: `DELETE FROM ${T} WHERE row_id IN (SELECT row_id FROM ${T} WHERE published_at < now() - $1 * interval '1 millisecond' ORDER BY row_id LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    /** $1..$5 = id, tenant, type, data (JSON text), priority. */
    insert: `INSERT INTO ${T} (id, tenant, type, data, priority) VALUES ($1, $2, $3, $4::jsonb, $5)
      RETURNING row_id::text AS row_id, floor(extract(epoch FROM created_at) * 1000)::bigint::text AS created_ms`,
    /** $1..$7 = as insert, then traceparent and tracestate. */
    insertTraced: `INSERT INTO ${T} (id, tenant, type, data, priority, traceparent, tracestate) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)
      RETURNING row_id::text AS row_id, floor(extract(epoch FROM created_at) * 1000)::bigint::text AS created_ms`,
    /** $1 = the quoted table name, $2 = the trigger's: does the table exist, may this user change it, has it the trigger? */
    check: `SELECT c IS NOT NULL AS present,
      c IS NOT NULL AND has_table_privilege(c, 'SELECT') AND has_table_privilege(c, 'UPDATE') AND has_table_privilege(c, 'DELETE') AS writable,
      EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = c AND tgname = $2) AS trigger,
      (SELECT count(*) FROM pg_attribute WHERE attrelid = c AND attname IN ('traceparent', 'tracestate') AND NOT attisdropped) = 2 AS traced
      FROM to_regclass($1) AS c`,
    /**
     * $1 = the quoted table name. The oldest row, and where the row ids start: an oldest row id
     * above the start means rows before it were deleted (replay-history.ts).
     */
    window: `SELECT o.row_id::text AS first_id, floor(extract(epoch FROM o.created_at) * 1000)::bigint::text AS first_ms,
      s.seqstart::text AS seq_start, pg_sequence_last_value(s.seqrelid) IS NOT NULL AS used
      FROM pg_sequence AS s LEFT JOIN LATERAL (SELECT row_id, created_at FROM ${T} ORDER BY row_id LIMIT 1) AS o ON true
      WHERE s.seqrelid = pg_get_serial_sequence($1, 'row_id')::regclass`,
    /** $1 = tenant, $2/$3 = from/to (ms), $4 = most rows. A tenant's rows by time (replay). */
    range: `SELECT ${rowColumns} FROM ${T} WHERE tenant = $1
      AND created_at >= to_timestamp($2 / 1000.0) AND created_at <= to_timestamp($3 / 1000.0)
      ORDER BY created_at, row_id LIMIT $4`,
  };
}

export type OutboxStatements = ReturnType<typeof outboxStatements>;

/** A row as the statements above return it (bigints as text). */
export interface OutboxRow {
  row_id: string;
  id: string | null;
  tenant: string | null;
  type: string | null;
  data: string | null;
  priority: string | null;
  attempts: number;
  created_ms: string;
  /** Only from a table that has the trace context columns. */
  traceparent?: string | null;
  tracestate?: string | null;
}

/** The source's reference to a row: `<table>#<row id>` (dead letters' `entryId`, logs). */
export const rowRef = (text: string, rowId: string) => `${text}#${rowId}`;

/**
 * The event id of a row whose `id` is null: `<table>.<row id>.<created_at in ms>`. The row id
 * alone would repeat after the identity restarts (TRUNCATE … RESTART IDENTITY, a re-created
 * table), and a repeated id within WSS_DEDUP_TTL_MS would be taken for a duplicate and dropped.
 */
export const defaultEventId = (text: string, rowId: string, createdMs: number) => `${text}.${rowId}.${createdMs}`;

/** A row as the bridge's message: the envelope's columns as text, null columns left out. */
export function rowMessage(text: string, row: OutboxRow): SourceMessage {
  const fields: Record<string, string> = {};
  for (const k of ['tenant', 'type', 'data', 'id', 'priority', 'traceparent', 'tracestate'] as const) {
    const v = row[k];
    if (v !== null && v !== undefined) fields[k] = v;
  }
  const createdAtMs = Number(row.created_ms);
  return {
    id: rowRef(text, row.row_id),
    fields,
    defaultEventId: defaultEventId(text, row.row_id, createdAtMs),
    createdAtMs,
  };
}

/** The row id of a reference made by rowRef. */
export const rowIdOf = (ref: string) => ref.slice(ref.lastIndexOf('#') + 1);
