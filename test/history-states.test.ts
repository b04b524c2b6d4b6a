// The delivery log's other states through the real bridge and worker, read with the real CLI:
// a retry waiting with its next attempt time, cancelled after the endpoint is deleted, and
// events the bridge dead-lettered or routed nowhere.
import { describe, expect, it } from 'vitest';
import type { EventStatus } from '../src/history/event-status.js';
import { publishEvent } from '../src/queue/publish.js';
import { startBridge } from '../src/producers/bridge.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { endpoint, isolatedEnv, useBridgeTest, waitUntil } from './helpers/bridge-context.js';
import { startReceiver } from './helpers/receiver.js';
import { runWss, serviceEnv } from './helpers/wss-process.js';

const { cleanups, context, redis } = useBridgeTest();

async function receiver(reply: (i: number) => { status: number; body: string }) {
  const r = await startReceiver((_req, i) => reply(i));
  cleanups.push(() => r.close());
  return r;
}

describe('delivery log states', () => {
  it('shows a retry waiting with its next attempt time, then cancelled when the endpoint is deleted', async () => {
    const rx = await receiver(() => ({ status: 500, body: 'down' }));
    const t = await context(isolatedEnv(), {
      tenants: [
        {
          id: 'acme',
          endpoints: [endpoint('orders', { url: `${rx.url}/o`, retry: { attempts: 5, backoffMs: 1_500 } })],
        },
      ],
    });
    const roles: RunningRole[] = [await startWorker(t.ctx), await startBridge(t.ctx)];
    cleanups.push(async () => {
      for (const r of roles.reverse()) await r.stop();
    });
    const cliEnv = serviceEnv(redis().url, t.config.prefix, { WSS_STREAM: t.config.stream, LOG_LEVEL: 'warn' });
    await publishEvent(
      t.ctx.redis,
      t.config.stream,
      { tenant: 'acme', type: 'order.paid', data: {}, id: 'del-1' },
      1e6,
    );
    await rx.waitFor(1);
    let s: EventStatus | undefined;
    await waitUntil('delayed in the status', () => {
      s = JSON.parse(runWss(['status', 'del-1', '--json'], cliEnv).stdout || 'null') as EventStatus;
      return s?.events[0]?.deliveries[0]?.state === 'delayed';
    });
    const delayed = s!.events[0]!.deliveries[0]!;
    expect(delayed.attempts.map((a) => a.status)).toEqual([500]);
    expect(Date.parse(delayed.nextAttemptAt!)).toBeGreaterThan(Date.parse(delayed.attempts[0]!.at));

    await t.registry.deleteEndpoint('acme', 'orders');
    await waitUntil(
      'cancelled',
      () => {
        s = JSON.parse(runWss(['status', 'del-1', '--json'], cliEnv).stdout || 'null') as EventStatus;
        return s?.events[0]?.deliveries[0]?.state === 'cancelled';
      },
      15_000,
    );
    const cancelled = s!.events[0]!.deliveries[0]!;
    expect(cancelled.cancelReason).toMatch(/^ENDPOINT_DELETED: /);
    expect(cancelled.attempts).toHaveLength(1);
    expect(rx.requests).toHaveLength(1);
  });

  it('records dead-lettered and unrouted events', async () => {
    const t = await context(isolatedEnv(), {
      tenants: [{ id: 'acme', endpoints: [endpoint('orders', { events: ['order.*'] })] }],
    });
    const roles: RunningRole[] = [await startBridge(t.ctx)];
    cleanups.push(async () => {
      for (const r of roles.reverse()) await r.stop();
    });
    await publishEvent(
      t.ctx.redis,
      t.config.stream,
      { tenant: 'acme', type: 'user.created', data: {}, id: 'u-1' },
      1e6,
    );
    await t.ctx.redis.xadd(t.config.stream, '*', 'tenant', 'ghost', 'type', 'order.paid', 'data', '{}', 'id', 'g-1');
    await waitUntil('both acknowledged', async () => (await t.ctx.redis.xlen(t.config.deadLetterStream)) === 1);
    const cliEnv = serviceEnv(redis().url, t.config.prefix, { WSS_STREAM: t.config.stream, LOG_LEVEL: 'warn' });
    let unrouted: EventStatus | undefined;
    await waitUntil('unrouted recorded', () => {
      const r = runWss(['status', 'u-1', '--json'], cliEnv);
      unrouted = r.status === 0 ? (JSON.parse(r.stdout) as EventStatus) : undefined;
      return unrouted !== undefined;
    });
    expect(unrouted!.events).toEqual([
      {
        tenant: 'acme',
        type: 'user.created',
        createdAt: expect.any(String) as string,
        bridge: { outcome: 'unrouted', at: expect.any(String) as string, endpoints: [], deadLetters: [] },
        deliveries: [],
      },
    ]);
    const dead = JSON.parse(runWss(['status', 'g-1', '--json'], cliEnv).stdout) as EventStatus;
    expect(dead.events[0]!.bridge).toMatchObject({
      outcome: 'dead_lettered',
      endpoints: [],
      deadLetters: [{ kind: 'unknown_tenant', reason: 'unknown tenant "ghost"' }],
    });
    expect(dead.events[0]!.tenant).toBe('ghost');
  });
});
