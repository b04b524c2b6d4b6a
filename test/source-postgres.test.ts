// The PostgreSQL outbox source against a private PostgreSQL cluster and a private Redis: rows an
// application commits reach a real receiver, signed, once; rolled-back rows never do; a
// malformed row is dead-lettered with its reason and reference; WSS_OUTBOX_KEEP marks instead of
// deleting; `wss publish` and `wss status` work with this source; NOTIFY wakes an idle bridge.
import { describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../src/producers/bridge.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import {
  allJobIds,
  deadLetters,
  endpoint,
  isolatedEnv,
  waitUntil,
  type TestCtx,
  useBridgeTest,
} from './helpers/bridge-context.js';
import { useTestPostgres } from './helpers/postgres.js';
import { initOutbox, insertCommitted, insertRows, outboxEnv, outboxRows, verifiedEventIds } from './helpers/outbox.js';
import { runWss } from './helpers/wss-process.js';

const { redis, cleanups, context } = useBridgeTest();
const pgServer = useTestPostgres();
const SECRET = 'secret-a-0123456789';

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}

const tenants = (url: string) => ({ tenants: [{ id: 'acme', endpoints: [endpoint('a', { url: `${url}/a` })] }] });

/** An outbox table (made by `wss outbox init`), a bridge and a worker on it, delivering to `rx`. */
async function service(
  rx: Receiver,
  extra: Record<string, string> = {},
  registry: unknown = tenants(rx.url),
): Promise<{ t: TestCtx; env: Record<string, string>; table: string; bridge: RunningBridge }> {
  const env = { ...isolatedEnv(), ...outboxEnv(pgServer(), extra) };
  initOutbox({ ...env, REDIS_URL: redis().url });
  const t = await context(env, registry);
  const bridge = await startBridge(t.ctx);
  const roles: RunningRole[] = [await startWorker(t.ctx), bridge];
  cleanups.push(async () => {
    for (const r of roles.reverse()) await r.stop();
  });
  return { t, env, table: env['WSS_OUTBOX_TABLE']!, bridge };
}

describe('postgres outbox → receiver', () => {
  it('delivers committed rows, signed, with the event id from `id` or `<table>.<row id>.<created ms>`, filtered and transformed, then deletes them', async () => {
    const rx = await receiver();
    const slim = endpoint('slim', {
      url: `${rx.url}/slim`,
      filter: 'data.total > 10',
      transform: "{ 'orderId': data.orderId }",
    });
    const { t, table, env } = await service(
      rx,
      {},
      {
        tenants: [{ id: 'acme', endpoints: [endpoint('a', { url: `${rx.url}/a` }), slim] }],
      },
    );
    const [withId, noId] = await insertCommitted(pgServer(), table, [
      { tenant: 'acme', type: 'order.created', data: { orderId: 'o-1', total: 12.5 }, id: 'ord-1', priority: 'high' },
      { tenant: 'acme', type: 'order.paid', data: { orderId: 'o-1' } },
    ]);
    await rx.waitFor(3);
    // Only the row passing the filter reaches `slim`, as the transform makes it.
    const toSlim = rx.requests.filter((r) => r.path === '/slim');
    expect(verifiedEventIds(toSlim, 'secret-slim-0123456789')).toEqual(['ord-1']);
    expect(JSON.parse(toSlim[0]!.body)).toEqual({ orderId: 'o-1' });
    const ids = verifiedEventIds(
      rx.requests.filter((r) => r.path === '/a'),
      SECRET,
    ).sort();
    expect(ids[0]).toBe('ord-1');
    expect(ids[1]).toMatch(new RegExp(`^${table}\\.${noId}\\.\\d{13}$`));
    const first = rx.requests.find((r) => r.path === '/a' && r.headers['x-wss-event-id'] === 'ord-1')!;
    expect(JSON.parse(first.body)).toMatchObject({
      id: 'ord-1',
      tenant: 'acme',
      type: 'order.created',
      data: { orderId: 'o-1', total: 12.5 },
    });
    expect(withId).toMatch(/^\d+$/);
    await waitUntil('rows deleted', async () => (await outboxRows(pgServer(), table)).length === 0);
    expect(await allJobIds(t)).toEqual([`acme.a.${ids[1]}`, 'acme.a.ord-1', 'acme.slim.ord-1'].sort());
    // The delivery log knows the event (`wss status` reads Redis, whatever the source).
    await waitUntil('delivery recorded', () => {
      const r = runWss(['status', ids[1]!, '--json'], { ...env, REDIS_URL: redis().url });
      return r.status === 0 && /"delivered"/.test(r.stdout);
    });
  });

  it('sends `data` as PostgreSQL writes jsonb back (keys reordered, its spacing, digits kept); refuses \\u0000 at insert', async () => {
    const rx = await receiver();
    const { table } = await service(rx);
    await pgServer().sql(
      `INSERT INTO ${table} (id, tenant, type, data) VALUES ('j1', 'acme', 'x', '{"big":12345678901234567890,"b":[1,2],"a":1.50}')`,
    );
    await rx.waitFor(1);
    expect(rx.requests[0]!.body).toContain('"data":{"a": 1.50, "b": [1, 2], "big": 12345678901234567890}}');
    await expect(
      pgServer().sql(`INSERT INTO ${table} (tenant, type, data) VALUES ('acme', 'x', '{"s":"\\u0000"}')`),
    ).rejects.toThrow(/unsupported Unicode escape sequence/);
  });

  it('a rolled-back application transaction delivers nothing; a committed one is delivered once', async () => {
    const rx = await receiver();
    const { t, table, bridge } = await service(rx);
    const app = await pgServer().client();
    await app.query('BEGIN');
    await insertRows(app, table, [{ tenant: 'acme', type: 'order.created', data: { n: 1 }, id: 'rolled-back' }]);
    await app.query('ROLLBACK');
    await app.query('BEGIN');
    await insertRows(app, table, [{ tenant: 'acme', type: 'order.created', data: { n: 2 }, id: 'committed' }]);
    await app.query('COMMIT');
    await rx.waitFor(1);
    // The bridge counts a batch once it is acknowledged, a moment after the jobs went out.
    await waitUntil('batch acknowledged', () => bridge.stats().entries === 1);
    // Several more claims: the rolled-back row (inserted first) never shows up.
    const claimsAfter = bridge.stats().batches;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(bridge.stats().batches).toBe(claimsAfter);
    expect(verifiedEventIds(rx.requests, SECRET)).toEqual(['committed']);
    expect(await allJobIds(t)).toEqual(['acme.a.committed']);
    expect(bridge.stats().entries).toBe(1);
    expect(await outboxRows(pgServer(), table)).toEqual([]);
  });

  it('dead-letters a malformed row with its reason and `<table>#<row id>`, deletes it, and delivers its neighbour', async () => {
    const rx = await receiver();
    const { t, table } = await service(rx);
    const [bad, good] = await insertCommitted(pgServer(), table, [
      { tenant: 'acme', type: 'order.created', data: {}, id: 'bad', priority: 'urgent' },
      { tenant: 'acme', type: 'order.created', data: {}, id: 'good' },
    ]);
    await rx.waitFor(1);
    await waitUntil('dead letter written', async () => (await deadLetters(t)).length === 1);
    const [dead] = await deadLetters(t);
    expect(dead!.fields).toMatchObject({
      entryId: `${table}#${bad}`,
      id: 'bad',
      tenant: 'acme',
      priority: 'urgent',
      reason: 'field "priority" must be "high", "normal" or "low"',
    });
    expect(verifiedEventIds(rx.requests, SECRET)).toEqual(['good']);
    expect(good).toBeDefined();
    await waitUntil('both rows deleted', async () => (await outboxRows(pgServer(), table)).length === 0);
  });

  it('WSS_OUTBOX_KEEP sets published_at instead of deleting, never delivers a row twice, and deletes published rows past WSS_OUTBOX_RETENTION', async () => {
    const rx = await receiver();
    const env = { ...isolatedEnv(), ...outboxEnv(pgServer(), { WSS_OUTBOX_KEEP: 'true', WSS_OUTBOX_RETENTION: '1d' }) };
    const table = env['WSS_OUTBOX_TABLE']!;
    initOutbox({ ...env, REDIS_URL: redis().url });
    // Published two days ago: past the retention, deleted at the bridge's first claim.
    await insertCommitted(pgServer(), table, [{ tenant: 'acme', type: 'x', data: {}, id: 'old' }]);
    await pgServer().sql(`UPDATE ${table} SET published_at = now() - interval '2 days'`);
    const t = await context(env, tenants(rx.url));
    const roles: RunningRole[] = [await startWorker(t.ctx), await startBridge(t.ctx)];
    cleanups.push(async () => {
      for (const r of roles.reverse()) await r.stop();
    });
    const rowIds = await insertCommitted(pgServer(), table, [
      { tenant: 'acme', type: 'order.created', data: { n: 1 }, id: 'k1' },
      { tenant: 'acme', type: 'order.created', data: { n: 2 }, id: 'k2' },
    ]);
    await rx.waitFor(2);
    await waitUntil('rows marked published', async () =>
      (await outboxRows(pgServer(), table)).every((r) => r.published),
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const rows = await outboxRows(pgServer(), table);
    expect(rows.map((r) => [r.row_id, r.id, r.attempts, r.published])).toEqual([
      [rowIds[0], 'k1', 1, true],
      [rowIds[1], 'k2', 1, true],
    ]);
    expect(verifiedEventIds(rx.requests, SECRET).sort()).toEqual(['k1', 'k2']);
    expect(await allJobIds(t)).toEqual(['acme.a.k1', 'acme.a.k2']);
  });

  it('`wss publish` inserts a row and prints its event id; the bridge delivers it', async () => {
    const rx = await receiver();
    const { env, table } = await service(rx);
    const r = runWss(['publish', '--tenant', 'acme', '--type', 'order.created', '--data', '{"via":"cli"}'], {
      ...env,
      REDIS_URL: redis().url,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^${table}\\.\\d+\\.\\d{13}$`));
    await rx.waitFor(1);
    expect(verifiedEventIds(rx.requests, SECRET)).toEqual([r.stdout.trim()]);
    expect(JSON.parse(rx.requests[0]!.body).data).toEqual({ via: 'cli' });
  });

  it('an idle bridge is woken by NOTIFY: a row is delivered long before the next poll (WSS_OUTBOX_POLL_MS=60000)', async () => {
    const rx = await receiver();
    const { table, bridge } = await service(rx, { WSS_OUTBOX_POLL_MS: '60000' });
    // Past the first claims: the bridge now waits for a notification or the minute-long poll.
    await new Promise((r) => setTimeout(r, 500));
    const before = bridge.stats().batches;
    await insertCommitted(pgServer(), table, [{ tenant: 'acme', type: 'order.created', data: {}, id: 'woken' }]);
    await rx.waitFor(1, 15_000);
    await waitUntil('batch acknowledged', () => bridge.stats().batches === before + 1);
    expect(verifiedEventIds(rx.requests, SECRET)).toEqual(['woken']);
  });
});
