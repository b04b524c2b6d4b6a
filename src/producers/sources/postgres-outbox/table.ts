// The outbox table as the bridge needs it: checked at start (so a missing table, other columns
// or missing rights stop start-up with what to do, instead of failing every claim), and created
// by `wss outbox init` (idempotent; the same SQL `--print` shows).
import type pg from 'pg';
import { errorMessage } from '../../../lib/errors.js';
import { OutboxTableError, query, unavailable } from './connect.js';
import { initSql, outboxNames, type OutboxNames, type OutboxStatements } from './sql.js';
import { describePgUrl, type OutboxTableName } from '../../../config/outbox-parsers.js';

/** A PostgreSQL error reply (it has a SQLSTATE), as opposed to a lost connection. */
function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

const INIT_HINT = 'create it with `wss outbox init`, or apply the SQL of `wss outbox init --print` in your migrations';

/**
 * Throws OutboxTableError when the table is missing, lacks a column the bridge reads, or may not
 * be changed by this user; OutboxUnavailableError when the database does not answer. Returns
 * whether the notify trigger is there (without it the bridge only polls) and whether the trace context columns are.
 */
export async function checkTable(
  client: pg.Client,
  n: OutboxNames,
  sql: OutboxStatements,
  url: string,
): Promise<{ trigger: boolean; traced: boolean }> {
  const db = describePgUrl(url);
  try {
    const [row] = await query<{ present: boolean; writable: boolean; trigger: boolean; traced: boolean }>(
      client,
      sql.check,
      [n.table, `${n.channel}_notify`],
    );
    if (!row?.present) throw new OutboxTableError(`outbox table ${n.text} does not exist in ${db}: ${INIT_HINT}`);
    if (!row.writable)
      throw new OutboxTableError(
        `outbox table ${n.text} in ${db}: this database user needs SELECT, UPDATE and DELETE on it (GRANT them)`,
      );
    // The claim's own statement on no rows: names any column the table lacks.
    await query(client, 'BEGIN');
    try {
      await query(client, sql.lock, [[]]);
    } finally {
      await query(client, 'ROLLBACK');
    }
    return { trigger: row.trigger, traced: row.traced };
  } catch (err) {
    if (err instanceof OutboxTableError) throw err;
    if (sqlState(err) !== undefined)
      throw new OutboxTableError(
        `outbox table ${n.text} in ${db}: ${errorMessage(err)}; it needs the columns \`wss outbox init --print\` shows`,
      );
    throw unavailable(url, err);
  }
}

/** Runs the init SQL; returns whether the table was there before. */
export async function initTable(client: pg.Client, t: OutboxTableName, keep: boolean): Promise<{ existed: boolean }> {
  const n = initSql(t, { keep });
  // Two inits at once would race on CREATE … IF NOT EXISTS; the lock lasts the session.
  await query(client, 'SELECT pg_advisory_lock(hashtextextended($1, 0))', [`wss-outbox-init:${t.text}`]);
  const [before] = await query<{ present: boolean }>(client, 'SELECT to_regclass($1) IS NOT NULL AS present', [
    outboxNames(t).table,
  ]);
  await client.query(n);
  return { existed: before?.present === true };
}
