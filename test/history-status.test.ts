// The delivery log end to end: an event fanned out to three endpoints over real Redis and real
// receivers (one delivers, one retries twice then delivers, one fails for good), read back with
// the real CLI (`wss status`) and the admin API, also after BullMQ removed the jobs.
import { describe, expect, it } from 'vitest';
import type { EventStatus } from '../src/history/event-status.js';
import { settledStreamKey } from '../src/history/keys.js';
import { publishEvent } from '../src/queue/publish.js';
import { startBridge } from '../src/producers/bridge.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { endpoint, isolatedEnv, useBridgeTest, waitUntil } from './helpers/bridge-context.js';
import { basic } from './helpers/dashboard-context.js';
import { startReceiver } from './helpers/receiver.js';
import { startAllRoles } from './helpers/roles.js';
import { runWss, serviceEnv } from './helpers/wss-process.js';

const { cleanups, context, redis } = useBridgeTest();
const PASSWORD = 'history-status-password';

async function receiver(reply: (i: number) => { status: number; body: string }) {
  const r = await startReceiver((_req, i) => reply(i));
  cleanups.push(() => r.close());
  return r;
}

describe('wss status and GET /api/events/:id', () => {
  it('shows the bridge outcome, each endpoint state and every attempt, before and after BullMQ removed the jobs', async () => {
    const ok = await receiver(() => ({ status: 200, body: 'ok-body' }));
    const flaky = await receiver((i) =>
      i < 2 ? { status: 500, body: `busy ${i}` } : { status: 200, body: 'finally' },
    );
    const broken = await receiver(() => ({ status: 500, body: 'broken for good' }));
    const retry = { attempts: 3, backoffMs: 10 };
    const env = isolatedEnv({ WSS_KEEP_COMPLETED_COUNT: '0', WSS_DASHBOARD_PASSWORD: PASSWORD, PORT: '0' });
    const t = await context(env, {
      tenants: [
        {
          id: 'acme',
          endpoints: [
            endpoint('orders', { url: `${ok.url}/o`, retry }),
            endpoint('billing', { url: `${flaky.url}/b`, retry }),
            endpoint('crm', { url: `${broken.url}/c`, retry }),
            endpoint('other', { url: `${ok.url}/x`, events: ['user.*'] }),
          ],
        },
      ],
    });
    const dash = await startAllRoles(t, cleanups);

    await publishEvent(
      t.ctx.redis,
      t.config.stream,
      { tenant: 'acme', type: 'order.paid', data: { n: 1 }, id: 'ord-1' },
      1e6,
    );
    await ok.waitFor(1);
    await flaky.waitFor(3);
    await broken.waitFor(3);
    // The failed job stays in BullMQ's failed set; the completed ones are gone at once (keep 0).
    await waitUntil('the jobs settled', async () => (await t.queue.getJobCounts('failed')).failed === 1);
    await waitUntil('completed jobs removed', async () => (await t.queue.getJobCounts('completed')).completed === 0);
    // The receiver hears an attempt before the worker logs it.
    for (const ep of ['orders', 'billing'])
      await waitUntil(
        `${ep} logged`,
        async () => (await t.ctx.redis.xlen(settledStreamKey(t.config, 'acme', ep, 'delivered'))) === 1,
      );

    const cliEnv = serviceEnv(redis().url, t.config.prefix, { WSS_STREAM: t.config.stream, LOG_LEVEL: 'warn' });
    const check = (s: EventStatus) => {
      expect(s.eventId).toBe('ord-1');
      expect(s.events).toHaveLength(1);
      const e = s.events[0]!;
      expect(e).toMatchObject({ tenant: 'acme', type: 'order.paid' });
      expect(e.bridge).toMatchObject({ outcome: 'fanned_out', deadLetters: [] });
      expect([...e.bridge!.endpoints].sort()).toEqual(['billing', 'crm', 'orders']);
      const by = Object.fromEntries(e.deliveries.map((d) => [d.endpoint, d]));
      expect(Object.keys(by).sort()).toEqual(['billing', 'crm', 'orders']);
      expect(by['orders']!.state).toBe('delivered');
      expect(by['orders']!.attempts.map((a) => [a.attempt, a.status, a.response])).toEqual([[1, 200, 'ok-body']]);
      expect(by['billing']!.state).toBe('delivered');
      expect(by['billing']!.attempts.map((a) => [a.attempt, a.status, a.error ?? null, a.response])).toEqual([
        [1, 500, 'HTTP_STATUS', 'busy 0'],
        [2, 500, 'HTTP_STATUS', 'busy 1'],
        [3, 200, null, 'finally'],
      ]);
      expect(by['crm']!.state).toBe('failed');
      expect(by['crm']!.attempts.map((a) => [a.attempt, a.status])).toEqual([
        [1, 500],
        [2, 500],
        [3, 500],
      ]);
      for (const d of e.deliveries)
        for (const a of d.attempts) {
          expect(Number.isFinite(Date.parse(a.at))).toBe(true);
          expect(a.latencyMs).toBeGreaterThanOrEqual(0);
        }
    };

    const cli = runWss(['status', 'ord-1', '--json'], cliEnv);
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    check(JSON.parse(cli.stdout) as EventStatus);

    const api = await fetch(`${dash.url}/api/events/ord-1`, { headers: { authorization: basic('admin', PASSWORD) } });
    expect(api.status).toBe(200);
    const apiBody = (await api.json()) as EventStatus;
    check(apiBody);

    // Now without any job in BullMQ: the history alone answers, the same.
    await t.queue.clean(0, 1000, 'failed');
    expect(await t.queue.getJobCountByTypes('failed', 'completed', 'waiting', 'delayed', 'active')).toBe(0);
    const after = runWss(['status', 'ord-1', '--json'], cliEnv);
    expect(after.status).toBe(0);
    check(JSON.parse(after.stdout) as EventStatus);
    expect(JSON.parse(after.stdout)).toEqual(apiBody);

    // The table: one row per endpoint with its state and attempt count, one per attempt.
    const table = runWss(['status', 'ord-1'], cliEnv);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/bridge: fanned_out to /);
    expect(table.stdout).toMatch(/^orders\s+delivered\s+1\s+200\s*$/m);
    expect(table.stdout).toMatch(/^billing\s+delivered\s+3\s+200\s*$/m);
    expect(table.stdout).toMatch(/^crm\s+failed\s+3\s+500\s*$/m);
    expect(table.stdout).toMatch(/^billing\s+2\s+\S+\s+500 HTTP_STATUS\s+\d+\s+busy 1$/m);

    // Unknown: 404 from the API, exit 1 and a message from the CLI.
    const missing = await fetch(`${dash.url}/api/events/nope-1`, {
      headers: { authorization: basic('admin', PASSWORD) },
    });
    expect(missing.status).toBe(404);
    const cliMissing = runWss(['status', 'nope-1'], cliEnv);
    expect(cliMissing.status).toBe(1);
    expect(cliMissing.stderr).toMatch(/event "nope-1" not found/);
    const bad = await fetch(`${dash.url}/api/events/ord-1?tenant=Not%20A%20Tenant`, {
      headers: { authorization: basic('admin', PASSWORD) },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/tenant/);
  });

  it('never records a secret, a request header or the request body', async () => {
    const SECRET = 'history-secret-never-stored-0123';
    const TOKEN = 'Bearer header-token-never-stored-456';
    const MARKER = 'body-marker-never-stored-789';
    const rx = await receiver((i) => (i === 0 ? { status: 503, body: 'try later' } : { status: 200, body: 'got it' }));
    const t = await context(isolatedEnv({ WSS_KEEP_COMPLETED_COUNT: '0' }), {
      tenants: [
        {
          id: 'acme',
          endpoints: [
            endpoint('orders', {
              url: `${rx.url}/o`,
              secret: SECRET,
              headers: { Authorization: TOKEN },
              retry: { attempts: 3, backoffMs: 10 },
            }),
          ],
        },
      ],
    });
    const roles: RunningRole[] = [await startWorker(t.ctx), await startBridge(t.ctx)];
    cleanups.push(async () => {
      for (const r of roles.reverse()) await r.stop();
    });
    await publishEvent(
      t.ctx.redis,
      t.config.stream,
      { tenant: 'acme', type: 'card.saved', data: { card: MARKER }, id: 'sec-1' },
      1e6,
    );
    await rx.waitFor(2);
    expect(rx.requests[1]!.body).toContain(MARKER); // it was sent, so it could have been recorded
    expect(rx.requests[1]!.headers['authorization']).toBe(TOKEN);

    const cliEnv = serviceEnv(redis().url, t.config.prefix, { WSS_STREAM: t.config.stream, LOG_LEVEL: 'warn' });
    let shown = '';
    await waitUntil('delivered in the log', () => {
      shown = runWss(['status', 'sec-1', '--json'], cliEnv).stdout;
      return shown.includes('"state": "delivered"');
    });
    expect(shown).toContain('try later');
    expect(shown).toContain('got it');
    // Everything the log holds in Redis, raw.
    let stored = '';
    for (const k of await t.ctx.redis.keys(`${t.config.prefix}:history*`)) {
      const type = await t.ctx.redis.type(k);
      if (type === 'hash') stored += JSON.stringify(await t.ctx.redis.hgetall(k));
      if (type === 'stream') stored += JSON.stringify(await t.ctx.redis.xrange(k, '-', '+'));
    }
    expect(stored).toContain('try later');
    for (const text of [stored, shown]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('header-token-never-stored');
      expect(text).not.toContain(MARKER);
    }
  });
});
