// Replay from the outbox: with WSS_OUTBOX_KEEP the table keeps published rows, and `POST
// /api/replay` and `wss replay` read a tenant's range back from it (same event ids, the generated
// ones too, X-WSS-Replay: true, signed); a range reaching before rows deleted by hand is refused;
// without WSS_OUTBOX_KEEP replay is refused saying what to set. POST /api/events inserts a row.
import { describe, expect, it } from 'vitest';
import { startDashboard } from '../src/dashboard/server.js';
import { startBridge } from '../src/producers/bridge.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { basic } from './helpers/dashboard-context.js';
import { startReceiver } from './helpers/receiver.js';
import { endpoint, isolatedEnv, waitUntil, useBridgeTest } from './helpers/bridge-context.js';
import { useTestPostgres } from './helpers/postgres.js';
import { initOutbox, insertCommitted, outboxEnv, outboxRows, verifiedEventIds } from './helpers/outbox.js';
import { runWss } from './helpers/wss-process.js';

const { redis, cleanups, context } = useBridgeTest();
const pgServer = useTestPostgres();
const PASSWORD = 'replay-outbox-password';

describe('replay from the outbox', () => {
  it('with WSS_OUTBOX_KEEP: the API and the CLI replay a tenant range from the table; rows deleted before it refuse it', async () => {
    const rx = await startReceiver();
    cleanups.push(() => rx.close());
    const env: Record<string, string> = {
      ...isolatedEnv(),
      ...outboxEnv(pgServer(), { WSS_OUTBOX_KEEP: 'true' }),
      REDIS_URL: redis().url,
      WSS_DASHBOARD_PASSWORD: PASSWORD,
      PORT: '0',
    };
    const table = env['WSS_OUTBOX_TABLE']!;
    initOutbox(env);
    const t = await context(env, {
      tenants: [
        { id: 'acme', endpoints: [endpoint('a', { url: `${rx.url}/a` })] },
        { id: 'globex', endpoints: [endpoint('g', { url: `${rx.url}/g` })] },
      ],
    });
    const dash = await startDashboard(t.ctx);
    const roles: RunningRole[] = [await startWorker(t.ctx), await startBridge(t.ctx), dash];
    cleanups.push(async () => {
      for (const r of roles.reverse()) await r.stop();
    });

    const from = new Date(Date.now() - 1_000).toISOString();
    const rowIds = await insertCommitted(pgServer(), table, [
      { tenant: 'acme', type: 'order.created', data: { n: 0 }, id: 'r0' },
      { tenant: 'globex', type: 'order.created', data: { n: 1 }, id: 'g0' },
      { tenant: 'acme', type: 'order.created', data: { n: 2 } },
      { tenant: 'acme', type: 'order.created', data: { n: 3 }, id: 'r3' },
    ]);
    await rx.waitFor(4);
    await waitUntil('rows published', async () => (await outboxRows(pgServer(), table)).every((r) => r.published));
    expect(
      verifiedEventIds(
        rx.requests.filter((r) => r.path === '/g'),
        'secret-g-0123456789',
      ),
    ).toEqual(['g0']);
    const acmeIds = verifiedEventIds(
      rx.requests.filter((r) => r.path === '/a'),
      'secret-a-0123456789',
    );
    // Sorted: `r…` before the generated `t…` id.
    expect(acmeIds.sort()).toEqual(['r0', 'r3', expect.stringMatching(new RegExp(`^${table}\\.${rowIds[2]}\\.\\d+$`))]);

    const res = await fetch(`${dash.url}/api/replay`, {
      method: 'POST',
      headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'acme', from, to: 'now' }),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ events: 3, deliveries: 3, skipped: 0 });
    await rx.waitFor(7);
    const replays = rx.requests.filter((r) => r.headers['x-wss-replay'] === 'true');
    expect(replays.map((r) => r.path)).toEqual(['/a', '/a', '/a']);
    expect(verifiedEventIds(replays, 'secret-a-0123456789').sort()).toEqual(acmeIds.sort());

    const dry = runWss(['replay', '--tenant', 'acme', '--from', from, '--dry-run', '--json'], env);
    expect(dry.stderr).toBe('');
    expect(JSON.parse(dry.stdout)).toMatchObject({ events: 3, deliveries: 3, dryRun: true });

    // The oldest row deleted by hand: a range from before it may miss rows, and is refused.
    await pgServer().sql(`DELETE FROM ${table} WHERE row_id = $1`, [rowIds[0]]);
    const refused = runWss(['replay', '--tenant', 'acme', '--from', from, '--dry-run'], env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `--from: the range starts at .*, but older rows were deleted from the outbox ${table} .*; it keeps rows from .* on`,
      ),
    );
    const [kept] = await pgServer().sql<{ ms: string }>(
      `SELECT floor(extract(epoch FROM min(created_at)) * 1000)::bigint::text AS ms FROM ${table}`,
    );
    const later = runWss(
      ['replay', '--tenant', 'acme', '--from', new Date(Number(kept!.ms)).toISOString(), '--dry-run', '--json'],
      env,
    );
    expect(later.stderr).toBe('');
    expect(JSON.parse(later.stdout)).toMatchObject({ events: 2 });

    // POST /api/events inserts a row too, and answers with its event id.
    const posted = await fetch(`${dash.url}/api/events`, {
      method: 'POST',
      headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'acme', type: 'order.created', data: { via: 'api' } }),
    });
    expect(posted.status).toBe(202);
    const { entryId } = (await posted.json()) as { entryId: string };
    expect(entryId).toMatch(new RegExp(`^${table}\\.\\d+\\.\\d{13}$`));
    await waitUntil('API event delivered', () => rx.requests.some((r) => r.headers['x-wss-event-id'] === entryId));
  });

  it('without WSS_OUTBOX_KEEP replay is refused, saying what to set', async () => {
    const env: Record<string, string> = { ...isolatedEnv(), ...outboxEnv(pgServer()), REDIS_URL: redis().url };
    initOutbox(env);
    await context(env, { tenants: [{ id: 'acme', endpoints: [endpoint('a')] }] });
    const r = runWss(['replay', '--tenant', 'acme', '--from', '1h'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /which deletes rows once they are published: set WSS_OUTBOX_KEEP=true to keep them for replay/,
    );
  });
});
