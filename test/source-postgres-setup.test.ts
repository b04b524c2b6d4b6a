// Setting the outbox up, and what start-up says when it is not: `wss outbox init` (idempotent)
// and `--print` (the same SQL for migration tools, applied twice here), a schema-qualified table
// named after a keyword, a missing table or column stopping the bridge with what to do, and a
// database that does not answer (the bridge starts not ready; no message shows the password).
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from './helpers/redis-server.js';
import { startBridge } from '../src/producers/bridge.js';
import { OutboxTableError } from '../src/producers/sources/postgres-outbox/connect.js';
import { allJobIds, endpoint, isolatedEnv, waitUntil, useBridgeTest } from './helpers/bridge-context.js';
import { useTestPostgres } from './helpers/postgres.js';
import { initOutbox, insertCommitted, outboxEnv, outboxRows } from './helpers/outbox.js';
import { childEnv, runWss } from './helpers/wss-process.js';

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
    initOutbox({ ...env, REDIS_URL: redis().url });
    const t = await context(env, TENANTS);
    const b = await startBridge(t.ctx);
    cleanups.push(() => b.stop());
    await insertCommitted(pgServer(), '"app"."order"', [{ tenant: 'acme', type: 'x', data: {}, id: 'kw-1' }]);
    await waitUntil('job added', async () => (await allJobIds(t)).includes('acme.a.kw-1'));
    await waitUntil('row deleted', async () => (await outboxRows(pgServer(), '"app"."order"')).length === 0);
  });
});

describe('bridge start-up', () => {
  it('stops when the database user may not change the table, saying what to GRANT', async () => {
    const env = { ...isolatedEnv(), ...outboxEnv(pgServer()) };
    const table = env['WSS_OUTBOX_TABLE']!;
    initOutbox({ ...env, REDIS_URL: redis().url });
    await pgServer().sql(`CREATE ROLE ${table}_ro LOGIN; GRANT SELECT, UPDATE ON ${table} TO ${table}_ro`);
    const url = pgServer().url.replace('postgres:pg-', `${table}_ro:pg-`);
    const t = await context({ ...env, WSS_PG_URL: url }, TENANTS);
    await expect(startBridge(t.ctx)).rejects.toThrow(
      /this database user needs SELECT, UPDATE and DELETE on it \(GRANT them\)/,
    );
  });

  it('without the notify trigger: warns at start, and finds new rows by polling', async () => {
    const env = { ...isolatedEnv(), ...outboxEnv(pgServer()) };
    const table = env['WSS_OUTBOX_TABLE']!;
    initOutbox({ ...env, REDIS_URL: redis().url });
    await pgServer().sql(`DROP TRIGGER ${table}_notify ON ${table}`);
    const t = await context(env, TENANTS);
    const b = await startBridge(t.ctx);
    cleanups.push(() => b.stop());
    expect(t.logs.join('\n')).toMatch(/the outbox table has no notify trigger: new rows are found by polling only/);
    await insertCommitted(pgServer(), table, [{ tenant: 'acme', type: 'x', data: {}, id: 'polled' }]);
    await waitUntil('job added', async () => (await allJobIds(t)).includes('acme.a.polled'));
  });

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

describe('npm run demo on the outbox', () => {
  it('after `wss outbox init`, the demo publishes rows and every event is delivered, signed', async () => {
    const env: Record<string, string> = { ...outboxEnv(pgServer()), REDIS_URL: redis().url };
    const table = env['WSS_OUTBOX_TABLE']!;
    initOutbox(env);
    const port = await freePort();
    const demo = fileURLToPath(new URL('../dist/demo/demo.js', import.meta.url));
    const r = await promisify(execFile)(process.execPath, [demo, '--once', '--receiver-port', String(port)], {
      env: childEnv(env),
      timeout: 60_000,
    });
    const ok = r.stdout.split('\n').filter((l) => l.startsWith('receiver: OK'));
    expect(ok, r.stdout).toHaveLength(5);
    expect(ok.every((l) => l.includes('signature valid'))).toBe(true);
    expect(r.stdout).toMatch(new RegExp(`event ${table}\\.\\d+\\.\\d{13} `));
    expect(await outboxRows(pgServer(), table)).toEqual([]);
  });
});

/** The first fenced block of `lang` after `heading` in the page. */
function docBlock(doc: string, heading: string, lang: string): string {
  const from = doc.indexOf(heading);
  expect(from, heading).toBeGreaterThan(-1);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(doc.slice(from));
  expect(m, `${lang} block after ${heading}`).not.toBeNull();
  return m![1]!;
}

describe('the examples of docs/sources/postgres-outbox.md, run as written', () => {
  it('the SQL and the Node `pg` example each deliver their event once and change the order', async () => {
    const doc = readFileSync(new URL('../docs/sources/postgres-outbox.md', import.meta.url), 'utf8');
    const sql = docBlock(doc, '### In SQL', 'sql');
    const js = docBlock(doc, '### In Node', 'js');
    // The examples name the default table.
    const env = { ...isolatedEnv(), ...outboxEnv(pgServer(), { WSS_OUTBOX_TABLE: 'wss_outbox' }) };
    initOutbox({ ...env, REDIS_URL: redis().url });
    await pgServer().sql(
      "CREATE TABLE orders (order_id text PRIMARY KEY, status text); INSERT INTO orders VALUES ('o-1', 'new'), ('o-2', 'new')",
    );
    const t = await context(env, {
      tenants: [{ id: 'acme', endpoints: [endpoint('a', { events: ['order.*'] })] }],
    });
    const b = await startBridge(t.ctx);
    cleanups.push(() => b.stop());

    const c = await pgServer().client();
    await c.query(sql);
    // The Node example as a module, its `pg` resolved from this repository.
    const dir = join(tmpdir(), `wss-outbox-example-${process.pid}`);
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'example.mjs'), js.replace("from 'pg'", `from '${import.meta.resolve('pg')}'`));
    writeFileSync(
      join(dir, 'run.mjs'),
      "import { pool, shipOrder } from './example.mjs';\nawait shipOrder('o-2');\nawait pool.end();\n",
    );
    await promisify(execFile)(process.execPath, [join(dir, 'run.mjs')], {
      env: { PATH: process.env['PATH'] ?? '', DATABASE_URL: pgServer().url },
    });

    await waitUntil('both jobs added', async () => (await allJobIds(t)).length === 2);
    expect(await allJobIds(t)).toEqual(['acme.a.order-o-1-shipped', 'acme.a.order-o-2-shipped']);
    await waitUntil('rows deleted', async () => (await outboxRows(pgServer(), 'wss_outbox')).length === 0);
    expect(await pgServer().sql('SELECT order_id, status FROM orders ORDER BY 1')).toEqual([
      { order_id: 'o-1', status: 'shipped' },
      { order_id: 'o-2', status: 'shipped' },
    ]);
  });
});
