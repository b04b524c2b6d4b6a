// Changing WSS_SHARDS on a running system loses nothing: jobs queued under WSS_SHARDS=1 (waiting,
// prioritized, delayed retries, failed) are delivered by workers restarted with WSS_SHARDS=3,
// which drain the old queue beside their own shards; new events go to the new shards; the
// dashboard lists the old queue while it holds jobs and retries its failed ones.
import { describe, expect, it } from 'vitest';
import { startDashboard } from '../src/dashboard/server.js';
import { startBridge } from '../src/producers/bridge.js';
import { publishEvent } from '../src/queue/publish.js';
import type { RunningRole } from '../src/roles.js';
import { BASE_QUEUE_NAME } from '../src/redis/shards.js';
import { startWorker } from '../src/workers/worker.js';
import { endpoint, isolatedEnv, pendingCount, useBridgeTest, waitUntil } from './helpers/bridge-context.js';
import { basic } from './helpers/dashboard-context.js';
import { startReceiver } from './helpers/receiver.js';

const { cleanups, context } = useBridgeTest();
const PASSWORD = 'reshard-password-1234';

describe('resharding (WSS_SHARDS 1 → 3)', () => {
  it('delivers every job queued under the old layout, and sends new events to the new shards', async () => {
    let phase = 1;
    const rx = await startReceiver((req) => {
      if (phase === 1) return { status: req.path === '/once' ? 400 : 500 };
      return { status: 200 };
    });
    cleanups.push(() => rx.close());
    const ids = ['a', 'b', 'c', 'd'];
    const tenants = {
      tenants: [
        {
          id: 'acme',
          endpoints: [
            ...ids.map((id) => endpoint(id, { url: `${rx.url}/${id}`, retry: { attempts: 4, backoffMs: 1_500 } })),
            endpoint('once', { url: `${rx.url}/once`, retry: { attempts: 1, backoffMs: 100 } }),
          ],
        },
      ],
    };
    const env = isolatedEnv({ WSS_QUEUE_SCAN_MS: '200', WSS_DASHBOARD_PASSWORD: PASSWORD, PORT: '0' });
    const publish = (t: { ctx: { redis: Parameters<typeof publishEvent>[0] } }, id: string) =>
      publishEvent(t.ctx.redis, env['WSS_STREAM']!, { tenant: 'acme', type: 'order.created', data: { id }, id }, 1e6);

    // Phase 1, one queue: three events tried once each (500: delayed retries; 400: failed) …
    const old = await context(env, tenants);
    let worker: RunningRole = await startWorker(old.ctx);
    let bridge: RunningRole = await startBridge(old.ctx);
    for (const id of ['p1', 'p2', 'p3']) await publish(old, id);
    await rx.waitFor(15);
    await worker.stop();
    const legacy = old.queue;
    await waitUntil('retries scheduled', async () => (await legacy.getDelayedCount()) === 12);
    expect(await legacy.getFailedCount()).toBe(3);
    // … and two more never tried (waiting for a worker, in BullMQ's prioritized set).
    for (const id of ['p4', 'p5']) await publish(old, id);
    // Queued first, acknowledged a moment later (the bridge acknowledges after its commit).
    await waitUntil('p4, p5 queued', async () => (await legacy.getPrioritizedCount()) === 10);
    await waitUntil('p4, p5 acknowledged', async () => (await pendingCount(old)) === 0);
    await bridge.stop();
    const before = rx.requests.length;

    // Phase 2: the same system restarted with WSS_SHARDS=3.
    phase = 2;
    const t = await context({ ...env, WSS_SHARDS: '3' }, undefined);
    worker = await startWorker(t.ctx);
    bridge = await startBridge(t.ctx);
    const dash = await startDashboard(t.ctx, { logCredentials: false });
    cleanups.push(async () => {
      for (const r of [dash, bridge, worker]) await r.stop();
    });
    for (const id of ['n1', 'n2']) await publish(t, id);

    const ok = (event: string, path: string) =>
      rx.requests.slice(before).filter((r) => r.headers['x-wss-event-id'] === event && r.path === path).length;
    const expected = [
      ...['p1', 'p2', 'p3', 'p4', 'p5'].flatMap((e) => ids.map((id) => [e, `/${id}`] as const)),
      ...['p4', 'p5', 'n1', 'n2'].map((e) => [e, '/once'] as const),
      ...['n1', 'n2'].flatMap((e) => ids.map((id) => [e, `/${id}`] as const)),
    ];
    await waitUntil('every job delivered', () => expected.every(([e, p]) => ok(e, p) >= 1), 20_000);
    // Each delivered once: a completed job is not sent again.
    for (const [e, p] of expected) expect(`${e} ${p}: ${ok(e, p)}`).toBe(`${e} ${p}: 1`);
    // The old queue was drained beside the new shards, and is no longer consumed once empty.
    expect(t.logs.join('\n')).toMatch(/"queue":"deliveries".*draining a delivery queue of another WSS_SHARDS/);
    const consumed = () => (worker as Awaited<ReturnType<typeof startWorker>>).queueNames();
    await waitUntil('the drained old queue left', () => !consumed().includes(BASE_QUEUE_NAME));
    expect(consumed()).toEqual(t.queues.current.map((r) => r.name));

    // New events went to the new shards only.
    for (const id of [...ids, 'once']) {
      expect(await legacy.getJob(`acme.${id}.n1`)).toBeUndefined();
      expect(await t.queues.forEndpoint('acme', id).queue.getJob(`acme.${id}.n1`)).toBeDefined();
    }

    // The dashboard lists the old queue (it still holds failed jobs) and retries them there.
    const auth = { authorization: basic('admin', PASSWORD) };
    const names = async () =>
      (
        (await (await fetch(`${dash.url}/admin/queues/api/queues`, { headers: auth })).json()) as {
          queues: Array<{ name: string }>;
        }
      ).queues.map((q) => q.name);
    expect(await names()).toContain(BASE_QUEUE_NAME);
    expect((await names()).length).toBe(4);
    const retry = await fetch(`${dash.url}/admin/queues/api/queues/${BASE_QUEUE_NAME}/acme.once.p1/retry`, {
      method: 'PUT',
      headers: auth,
    });
    expect(retry.status).toBe(204);
    // A worker takes the old queue up again (WSS_QUEUE_SCAN_MS) and delivers it.
    await waitUntil('retried old job delivered', () => ok('p1', '/once') === 1, 10_000);
    await waitUntil('old job completed', async () => (await legacy.getJob('acme.once.p1'))!.isCompleted());
  }, 60_000);
});
