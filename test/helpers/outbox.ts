// The outbox suites' helpers: the environment that points the service at a test cluster and a
// fresh outbox table, the table created the way users create it (`wss outbox init`), rows
// inserted the way an application inserts them, and what the table holds afterwards.
import type pg from 'pg';
import { expect } from 'vitest';
import type { Received } from './receiver.js';
import { outboxTableName, type TestPostgres } from './postgres.js';
import { runWss } from './wss-process.js';
import { verifySignature } from '../../src/verify/index.js';

export interface OutboxEvent {
  tenant: string;
  type: string;
  data: unknown;
  id?: string | null;
  priority?: string | null;
}

/** WSS_SOURCE=postgres-outbox on `pg`, a fresh table (created with `wss outbox init`), short polls. */
export function outboxEnv(pgServer: TestPostgres, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WSS_SOURCE: 'postgres-outbox',
    WSS_PG_URL: pgServer.url,
    WSS_OUTBOX_TABLE: outboxTableName(),
    WSS_OUTBOX_POLL_MS: '200',
    ...extra,
  };
}

/** `wss outbox init` with the env's WSS_PG_URL and table; fails the test if it fails. */
export function initOutbox(env: Record<string, string>): string {
  const r = runWss(['outbox', 'init'], env);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

const INSERT = (table: string) =>
  `INSERT INTO ${table} (id, tenant, type, data, priority) VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING row_id::text AS row_id`;

/** Inserts rows on `client` (inside whatever transaction it has open); returns their row ids. */
export async function insertRows(client: pg.Client, table: string, events: readonly OutboxEvent[]): Promise<string[]> {
  const ids: string[] = [];
  for (const e of events) {
    const { rows } = await client.query<{ row_id: string }>(INSERT(table), [
      e.id ?? null,
      e.tenant,
      e.type,
      JSON.stringify(e.data),
      e.priority ?? null,
    ]);
    ids.push(rows[0]!.row_id);
  }
  return ids;
}

/** Inserts rows in one committed transaction of their own, as an application would. */
export async function insertCommitted(
  pgServer: TestPostgres,
  table: string,
  events: readonly OutboxEvent[],
): Promise<string[]> {
  const c = await pgServer.client();
  try {
    await c.query('BEGIN');
    const ids = await insertRows(c, table, events);
    await c.query('COMMIT');
    return ids;
  } finally {
    await c.end();
  }
}

/** Many rows at once (one INSERT … SELECT): events `<prefix><i>` for i in [0, n). */
export async function insertMany(pgServer: TestPostgres, table: string, n: number, prefix: string): Promise<void> {
  await pgServer.sql(
    `INSERT INTO ${table} (id, tenant, type, data)
     SELECT $1 || i, 'acme', 'order.created', jsonb_build_object('n', i) FROM generate_series(0, $2 - 1) AS i`,
    [prefix, n],
  );
}

export interface OutboxRowState {
  row_id: string;
  id: string | null;
  attempts: number;
  published: boolean;
}

export async function outboxRows(pgServer: TestPostgres, table: string): Promise<OutboxRowState[]> {
  return pgServer.sql<OutboxRowState>(
    `SELECT row_id::text AS row_id, id, attempts, published_at IS NOT NULL AS published FROM ${table} ORDER BY row_id`,
  );
}

/** The event ids a receiver got, each verified against the endpoint's secret (X-WSS-Signature). */
export function verifiedEventIds(requests: readonly Received[], secret: string): string[] {
  return requests.map((r) => {
    expect(
      verifySignature({
        secret,
        body: r.body,
        timestamp: String(r.headers['x-wss-timestamp']),
        signature: String(r.headers['x-wss-signature']),
      }),
    ).toBe(true);
    return String(r.headers['x-wss-event-id']);
  });
}
