// Setting the outbox up, and what start-up says when it is not: `wss outbox init` (idempotent)
// and `--print` (the same SQL for migration tools, applied twice here), a schema-qualified table
// named after a keyword, a missing table or column stopping the bridge with what to do, and a
// database that does not answer (the bridge starts not ready; no message shows the password).
import { freePort } from './helpers/redis-server.js';
import { describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
import { OutboxTableError } from '../src/producers/sources/postgres-outbox/connect.js';
import { allJobIds, endpoint, isolatedEnv, waitUntil, useBridgeTest } from './helpers/bridge-context.js';
import { useTestPostgres } from './helpers/postgres.js';
import { initOutbox, insertCommitted, outboxEnv, outboxRows } from './helpers/outbox.js';
import { runWss } from './helpers/wss-process.js';

const { redis, cleanups, context } = useBridgeTest();
const pgServer = useTestPostgres();
const TENANTS = { tenants: [{ id: 'acme', endpoints: [endpoint('a')] }] };

describe('wss outbox init', () => {
  it('creates the table once ("created", then "already there"); --print needs no database and its SQL applies twice', async () => {
    const env = { ...outboxEnv(pgServer()), REDIS_URL: redis().url };
    expect(initOutbox(env)).toMatch(
      /^outbox table t\d+_\d+_outbox in postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres: created/,
    );
    expect(initOutbox(env)).toMatch(/: already there; indexes and trigger checked\n$/);
    expect(initOutbox(env)).not.toContain(pgServer().password);

    const printed = runWss(['outbox', 'init', '--print'], { WSS_OUTBOX_TABLE: 'app.order', WSS_OUTBOX_KEEP: 'true' });
    expect(printed.status).toBe(0);
    expect(printed.stdout).toMatch(/^-- webhook-sender: the outbox table for WSS_OUTBOX_TABLE=app.order/);
    const c = await pgServer().client();
    await c.query(printed.stdout);
    await c.query(printed.stdout);
    const objects = await pgServer().sql<{ name: string }>(
      `SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'app' AND tablename = 'order'
       UNION ALL SELECT tgname FROM pg_trigger WHERE tgrelid = '"app"."order"'::regclass ORDER BY 1`,
    );
    expect(objects.map((o) => o.name)).toEqual([
      'order_notify',
      'order_pkey',
      'order_tenant_created',
      'order_unpublished',
    ]);
    expect(initOutbox({ ...env, WSS_OUTBOX_TABLE: 'app.order' })).toMatch(/already there/);
  });

  it('refuses to run without WSS_PG_URL, saying so', () => {
    const r = runWss(['outbox', 'init'], {});
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/wss outbox init needs WSS_PG_URL \(or --print to only show the SQL\)/);
  });

  it('a schema-qualified table named after a keyword (app.order) works end to end', async () => {
    const env = { ...isolatedEnv(), ...outboxEnv(pgServer(), { WSS_OUTBOX_TABLE: 'app.order' }) };
    const t = await context(env, TENANTS);
    const b = await startBridge(t.ctx);
    cleanups.push(() => b.stop());
    await insertCommitted(pgServer(), '"app"."order"', [{ tenant: 'acme', type: 'x', data: {}, id: 'kw-1' }]);
    await waitUntil('job added', async () => (await allJobIds(t)).includes('acme.a.kw-1'));
    await waitUntil('row deleted', async () => (await outboxRows(pgServer(), '"app"."order"')).length === 0);
  });
});

describe('bridge start-up', () => {
  it('stops with what to do when the table is missing, or lacks a column the bridge reads', async () => {
    const env = { ...isolatedEnv(), ...outboxEnv(pgServer()) };
    const t = await context(env, TENANTS);
    const missing = startBridge(t.ctx);
    await expect(missing).rejects.toThrow(OutboxTableError);
    await expect(missing).rejects.toThrow(
      new RegExp(
        `outbox table ${env['WSS_OUTBOX_TABLE']} does not exist in postgres://postgres@127.0.0.1:\\d+/postgres: create it with \`wss outbox init\``,
      ),
    );
    await pgServer().sql(
      `CREATE TABLE ${env['WSS_OUTBOX_TABLE']} (row_id bigint, id text, tenant text, type text, data jsonb)`,
    );
    await expect(startBridge(t.ctx)).rejects.toThrow(/column "priority" does not exist.*`wss outbox init --print`/);
  });

  it('starts when the database does not answer, reports not ready naming it without the password, and never logs the password', async () => {
    const port = await freePort();
    const url = `postgres://postgres:${pgServer().password}@127.0.0.1:${port}/postgres`;
    const env = { ...isolatedEnv(), ...outboxEnv(pgServer(), { WSS_PG_URL: url }) };
    const t = await context(env, TENANTS);
    const b = await startBridge(t.ctx);
    cleanups.push(() => b.stop());
    const r = await b.ready();
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(
      new RegExp(`^postgres postgres://postgres@127\\.0\\.0\\.1:${port}/postgres: .*ECONNREFUSED`),
    );
    await waitUntil('a failed claim logged', () => t.logs.some((l) => /read or commit failed/.test(l)));
    expect(t.logs.join('\n')).toMatch(/the outbox database does not answer yet/);
    expect(t.logs.join('\n')).not.toContain(pgServer().password);

    const publish = runWss(['publish', '--tenant', 'acme', '--type', 'x', '--data', '{}'], {
      ...env,
      REDIS_URL: redis().url,
    });
    expect(publish.status).toBe(1);
    expect(publish.stderr).toMatch(
      /^wss: postgres postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres: connect ECONNREFUSED/,
    );
    expect(publish.stderr).not.toContain(pgServer().password);
  });
});
