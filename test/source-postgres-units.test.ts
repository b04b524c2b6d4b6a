// The outbox source's pure parts, with known answers: the table name (validated, quoted), the
// database URL (never quoted back with its password), rows → messages and their event ids, the
// init SQL, and the claim's choice of rows by attempts (the Redis source's rule).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { describePgUrl, parseOutboxTable } from '../src/config/outbox-parsers.js';
import { ConfigError } from '../src/lib/errors.js';
import { parseEnvelope, EVENT_ID_PATTERN } from '../src/queue/event.js';
import { createPublisher } from '../src/producers/sources/index.js';
import { initSql, outboxNames, rowMessage, type OutboxRow } from '../src/producers/sources/postgres-outbox/sql.js';
import { nextChunk } from '../src/producers/sources/redis-stream/pending.js';
import type { RedisClient } from '../src/redis/client.js';

describe('WSS_OUTBOX_TABLE', () => {
  it('takes lower-case identifiers, optionally schema-qualified, and quotes them', () => {
    expect(parseConfig({}).source.postgres.table).toEqual({
      schema: undefined,
      name: 'wss_outbox',
      text: 'wss_outbox',
    });
    expect(outboxNames(parseConfig({ WSS_OUTBOX_TABLE: 'app.order' }).source.postgres.table)).toMatchObject({
      table: '"app"."order"',
      text: 'app.order',
      channel: 'order',
    });
    expect(parseOutboxTable('_x9')).toMatchObject({ name: '_x9' });
  });

  it.each([
    ['Outbox', /lower-case SQL identifier/],
    ['9box', /lower-case SQL identifier/],
    ['a-b', /lower-case SQL identifier/],
    ['a.b.c', /at most one dot/],
    ['x'.repeat(49), /more than 48 characters/],
    ['app.', /lower-case SQL identifier/],
    ['box; DROP TABLE users', /lower-case SQL identifier/],
  ])('refuses %j, naming the variable', (value, why) => {
    expect(() => parseConfig({ WSS_OUTBOX_TABLE: value })).toThrow(ConfigError);
    expect(() => parseConfig({ WSS_OUTBOX_TABLE: value })).toThrow(/WSS_OUTBOX_TABLE: /);
    expect(() => parseConfig({ WSS_OUTBOX_TABLE: value })).toThrow(why);
  });
});

describe('WSS_PG_URL and the other outbox settings', () => {
  it('refuses what is not a postgres URL without quoting it (it may hold a password)', () => {
    const msg = (v: string) => {
      try {
        parseConfig({ WSS_PG_URL: v });
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(msg('mysql://u:hunter2-pw@h/db')).toMatch(
      /WSS_PG_URL: expected postgres:\/\/ or postgresql:\/\/, got "mysql:"/,
    );
    expect(msg('mysql://u:hunter2-pw@h/db')).not.toContain('hunter2');
    expect(msg('hunter2 pw not a url')).toMatch(/WSS_PG_URL: not a URL/);
    expect(msg('hunter2 pw not a url')).not.toContain('hunter2');
    expect(msg('postgresql://u:p@h:5433/db?sslmode=require')).toBe('accepted');
  });

  it('shows a URL without its password or query', () => {
    expect(describePgUrl('postgres://app:s3cr%40t@db.internal:5433/orders?sslmode=require&password=x')).toBe(
      'postgres://app@db.internal:5433/orders',
    );
    expect(describePgUrl('not a url')).toBe('(unparseable URL)');
  });

  it('has its defaults, and refuses bad values naming the variable', () => {
    expect(parseConfig({}).source.postgres).toMatchObject({
      url: undefined,
      keep: false,
      retentionMs: 7 * 86_400_000,
      pollMs: 1_000,
    });
    expect(parseConfig({ WSS_OUTBOX_KEEP: 'yes', WSS_OUTBOX_RETENTION: '0' }).source.postgres).toMatchObject({
      keep: true,
      retentionMs: 0,
    });
    expect(() => parseConfig({ WSS_OUTBOX_POLL_MS: '5' })).toThrow(/WSS_OUTBOX_POLL_MS: expected an integer from 10/);
    expect(() => parseConfig({ WSS_OUTBOX_KEEP: 'maybe' })).toThrow(/WSS_OUTBOX_KEEP/);
  });

  it('the outbox source needs WSS_PG_URL: a publisher without it is refused, naming it', () => {
    const config = parseConfig({ WSS_SOURCE: 'postgres-outbox' });
    expect(() => createPublisher(config, undefined as unknown as RedisClient)).toThrow(
      /WSS_PG_URL: required with WSS_SOURCE=postgres-outbox/,
    );
  });
});

describe('rows as messages', () => {
  const row = (over: Partial<OutboxRow> = {}): OutboxRow => ({
    row_id: '42',
    id: null,
    tenant: 'acme',
    type: 'order.created',
    data: '{"a": 1}',
    priority: null,
    attempts: 1,
    created_ms: '1718000000123',
    ...over,
  });

  it('refers to a row as <table>#<row id>; without `id` the event id is <table>.<row id>.<created ms>', () => {
    const m = rowMessage('app.wss_outbox', row());
    expect(m).toEqual({
      id: 'app.wss_outbox#42',
      fields: { tenant: 'acme', type: 'order.created', data: '{"a": 1}' },
      defaultEventId: 'app.wss_outbox.42.1718000000123',
      createdAtMs: 1_718_000_000_123,
    });
    expect(m.defaultEventId).toMatch(EVENT_ID_PATTERN);
    const parsed = parseEnvelope(m.fields!, m);
    expect(parsed.ok && parsed.event).toMatchObject({
      id: 'app.wss_outbox.42.1718000000123',
      createdAt: '2024-06-10T06:13:20.123Z',
      priority: 'normal',
      data: { a: 1 },
    });
  });

  it("keeps the producer's id and priority, and leaves null columns out (so they read as missing)", () => {
    const m = rowMessage('wss_outbox', row({ id: 'ord-1', priority: 'high', tenant: null }));
    expect(m.fields).toEqual({ type: 'order.created', data: '{"a": 1}', id: 'ord-1', priority: 'high' });
    const parsed = parseEnvelope(m.fields!, m);
    expect(parsed).toEqual({ ok: false, kind: 'malformed', reason: 'missing field "tenant"' });
  });
});

describe('wss outbox init SQL', () => {
  it('creates schema, table, index and trigger idempotently, the replay index only with WSS_OUTBOX_KEEP', () => {
    const sql = initSql(parseOutboxTable('app.events') as never, { keep: false });
    expect(sql).toContain('CREATE SCHEMA IF NOT EXISTS "app";');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "app"."events" (');
    expect(sql).toMatch(/row_id\s+bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY/);
    expect(sql).toContain(
      'CREATE INDEX IF NOT EXISTS "events_unpublished" ON "app"."events" (row_id) WHERE published_at IS NULL;',
    );
    expect(sql).toContain(`PERFORM pg_notify('events', '');`);
    expect(sql).toContain(`tgname = 'events_notify' AND tgrelid = '"app"."events"'::regclass`);
    expect(sql).not.toContain('tenant_created');
    const kept = initSql(parseOutboxTable('wss_outbox') as never, { keep: true });
    expect(kept).not.toContain('CREATE SCHEMA');
    expect(kept).toContain(
      'CREATE INDEX IF NOT EXISTS "wss_outbox_tenant_created" ON "wss_outbox" (tenant, created_at);',
    );
  });
});

describe('which rows a claim takes (by attempts, the Redis source rule)', () => {
  const rows = (...attempts: number[]) => attempts.map((a, i) => ({ row_id: String(i + 1), deliveries: a }));
  const ids = (c: ReturnType<typeof nextChunk<{ row_id: string; deliveries: number }>>) =>
    c && { ids: c.entries.map((e) => e.row_id), poison: c.poison };

  it('fresh rows and rows delivered once go together; a row delivered twice goes alone; rows at the bound are poison', () => {
    expect(ids(nextChunk(rows(0, 0, 1, 0), 5))).toEqual({ ids: ['1', '2', '3', '4'], poison: false });
    expect(ids(nextChunk(rows(0, 2, 0), 5))).toEqual({ ids: ['1'], poison: false });
    expect(ids(nextChunk(rows(2, 0), 5))).toEqual({ ids: ['1'], poison: false });
    expect(ids(nextChunk(rows(5, 7, 0), 5))).toEqual({ ids: ['1', '2'], poison: true });
    expect(nextChunk(rows(), 5)).toBeUndefined();
  });
});
