// "delayed" with its reason, in `wss status` and GET /api/events/:id (the event page shows the
// same field): a circuit open, a disabled endpoint, an endpoint limit, or a retry's backoff.
// Before, all four read a bare "delayed" (issue 18, item 10). Real Redis, real receivers, the
// worker, bridge and dashboard in process, the real CLI.
import { describe, expect, it } from 'vitest';
import type { EventStatus } from '../src/history/event-status.js';
import { delayReason, parkRecord } from '../src/history/delay-reason.js';
import { publishEvent } from '../src/queue/publish.js';
import { endpoint, isolatedEnv, useBridgeTest, waitUntil } from './helpers/bridge-context.js';
import { basic } from './helpers/dashboard-context.js';
import { startReceiver } from './helpers/receiver.js';
import { startDashboard } from '../src/dashboard/server.js';
import { startBridge } from '../src/producers/bridge.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { runWss, serviceEnv } from './helpers/wss-process.js';

const { cleanups, context, redis } = useBridgeTest();
const PASSWORD = 'delay-reason-password';

describe('delayReason', () => {
  it('gives known answers', () => {
    expect(delayReason(parkRecord('circuit-open', 1), 1)).toBe('circuit open (cool-down after failed attempts)');
    expect(delayReason(parkRecord('rate-limit', 0), 0)).toBe('endpoint limit: rateLimit');
    // An attempt was made since the park: the wait is that attempt's backoff.
    expect(delayReason(parkRecord('rate-limit', 0), 1)).toBe('retry backoff after attempt 1 failed');
    expect(delayReason(null, 2)).toBe('retry backoff after attempt 2 failed');
    expect(delayReason(null, 0)).toBeUndefined();
    expect(delayReason('nonsense 0', 0)).toBeUndefined();
  });
});

describe('wss status and GET /api/events/:id', () => {
  it('say why a delivery is delayed', async () => {
    const rx = await startReceiver(() => ({ status: 500, body: 'down' }));
    cleanups.push(() => rx.close());
    const slow = { attempts: 3, backoffMs: 600_000 };
    const t = await context(isolatedEnv({ WSS_DASHBOARD_PASSWORD: PASSWORD, PORT: '0' }), {
      tenants: [
        {
          id: 'acme',
          endpoints: [
            endpoint('tripped', { url: `${rx.url}/t`, retry: slow, circuit: { failures: 1, coolDownMs: 600_000 } }),
            endpoint('off', { url: `${rx.url}/o`, events: ['order.*'] }),
            endpoint('limited', {
              url: `${rx.url}/l`,
              retry: slow,
              rateLimit: { max: 1, perMs: 600_000 },
              events: ['order.*'],
            }),
          ],
        },
      ],
    });
    // The worker comes last: `off` is disabled while e1's job for it waits (the bridge plans
    // nothing for a disabled endpoint, so only jobs queued before are parked for that reason).
    const roles: RunningRole[] = [await startBridge(t.ctx)];
    const dash = await startDashboard(t.ctx, { logCredentials: false });
    roles.push(dash);
    cleanups.push(async () => {
      for (const r of roles.reverse()) await r.stop();
    });
    const publish = (id: string) =>
      publishEvent(t.ctx.redis, t.config.stream, { tenant: 'acme', type: 'order.paid', data: {}, id }, 1e6);
    const api = async (id: string) => {
      const res = await fetch(`${dash.url}/api/events/${id}`, { headers: { authorization: basic('admin', PASSWORD) } });
      return (await res.json()) as EventStatus;
    };
    await publish('e1');
    await waitUntil('e1 planned', async () => (await api('e1')).events?.[0]?.deliveries.length === 3);
    await t.ctx.registry.updateEndpoint('acme', 'off', (ep) => ({ ...ep, enabled: false }));
    roles.unshift(await startWorker(t.ctx));
    // e1: tripped's attempt fails (the circuit opens, the retry waits its backoff), limited's
    // takes the one request its rate allows and fails too, off's job is parked.
    await rx.waitFor(2);
    await waitUntil('e1 parked or retrying everywhere', async () => {
      const ds = (await api('e1')).events?.[0]?.deliveries ?? [];
      return ds.every((d) => d.state === 'delayed' && d.delayReason !== undefined);
    });
    // e2: tripped's circuit is open and limited's rate is spent: both parked, no attempt.
    await publish('e2');
    await waitUntil('e2 parked', async () => {
      const ds = (await api('e2')).events?.[0]?.deliveries ?? [];
      return ds.length === 2 && ds.every((d) => d.state === 'delayed' && d.delayReason !== undefined);
    });

    const reasons = async (id: string) =>
      Object.fromEntries(
        ((await api(id)).events[0]!.deliveries ?? []).map((d) => [d.endpoint, [d.state, d.delayReason]]),
      );
    expect(await reasons('e1')).toEqual({
      tripped: ['delayed', 'retry backoff after attempt 1 failed'],
      off: ['delayed', 'endpoint disabled (kept until enabled again)'],
      limited: ['delayed', 'retry backoff after attempt 1 failed'],
    });
    expect(await reasons('e2')).toEqual({
      tripped: ['delayed', 'circuit open (cool-down after failed attempts)'],
      limited: ['delayed', 'endpoint limit: rateLimit'],
    });
    expect(rx.requests).toHaveLength(2);

    // The CLI's table says the same.
    const cli = runWss(['status', 'e1'], serviceEnv(redis().url, t.config.prefix, { LOG_LEVEL: 'warn' }));
    expect(cli.status, cli.stderr).toBe(0);
    const row = (ep: string) => cli.stdout.split('\n').find((l) => l.startsWith(`${ep} `)) ?? '';
    expect(row('tripped')).toMatch(/delayed .*\(retry backoff after attempt 1 failed\)/);
    expect(row('off')).toMatch(/delayed .*\(endpoint disabled \(kept until enabled again\)\)/);
    const cli2 = runWss(['status', 'e2'], serviceEnv(redis().url, t.config.prefix, { LOG_LEVEL: 'warn' }));
    expect(cli2.stdout).toMatch(/\ntripped +delayed .*\(circuit open \(cool-down after failed attempts\)\)/);
    expect(cli2.stdout).toMatch(/\nlimited +delayed .*\(endpoint limit: rateLimit\)/);
  });
});
