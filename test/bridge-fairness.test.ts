// Fair share and priority, end to end through the real bridge (which assigns the priorities),
// the real worker and a real receiver: counts and order, never clocks. A tenant's (or an
// endpoint's) backlog delays a fresh event by a bounded number of deliveries, not by its length.
import { describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../src/producers/bridge.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import {
  deadLetters,
  endpoint,
  isolatedEnv,
  waitUntil,
  type TestCtx,
  useBridgeTest,
} from './helpers/bridge-context.js';

const { cleanups, context } = useBridgeTest();

const BACKLOG = 20_000;
// Backlogs here are queued before the worker starts: queue-level fair share, with hold-back off
// (a backlog still in the stream: bridge-hold.test.ts).
const queuedEnv = () => isolatedEnv({ WSS_HOLD_AFTER: '0' });
const BOUND = 500;

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}

async function stopLast(roles: RunningRole[]): Promise<void> {
  for (const r of roles.reverse()) await r.stop();
}

/** XADDs `count` events of one tenant and type, pipelined. */
async function publishMany(
  t: TestCtx,
  tenant: string,
  type: string,
  count: number,
  extra: string[] = [],
): Promise<void> {
  for (let i = 0; i < count; i += 1_000) {
    const p = t.ctx.redis.pipeline();
    for (let j = i; j < Math.min(count, i + 1_000); j++)
      p.xadd(
        t.config.stream,
        '*',
        'tenant',
        tenant,
        'type',
        type,
        'data',
        `{"n":${j}}`,
        'id',
        `${type}-${j}`,
        ...extra,
      );
    await p.exec();
  }
}

/** Starts a bridge and waits until it has turned `jobs` events into jobs. */
async function bridgeUntil(t: TestCtx, roles: RunningRole[], jobs: number): Promise<RunningBridge> {
  const bridge = await startBridge(t.ctx);
  roles.push(bridge);
  await waitUntil(`${jobs} jobs enqueued`, () => bridge.stats().jobs >= jobs, 120_000);
  return bridge;
}

/**
 * With a backlog draining, publishes one fresh event and returns how many backlog deliveries
 * reached the receiver between the XADD and the fresh event's arrival.
 */
async function backlogDeliveredBefore(
  t: TestCtx,
  rx: Receiver,
  backlogPath: string,
  fresh: { tenant: string; type: string; path: string },
): Promise<number> {
  const ofBacklog = () => rx.requests.filter((r) => r.path === backlogPath).length;
  // The backlog is being delivered when the fresh event comes.
  await waitUntil('the backlog draining', () => ofBacklog() >= 200, 60_000);
  const before = ofBacklog();
  await t.ctx.redis.xadd(
    t.config.stream,
    '*',
    'tenant',
    fresh.tenant,
    'type',
    fresh.type,
    'data',
    '{"fresh":true}',
    'id',
    'fresh-1',
  );
  await waitUntil('the fresh event', () => rx.requests.some((r) => r.path === fresh.path), 120_000);
  const at = rx.requests.findIndex((r) => r.path === fresh.path);
  return rx.requests.slice(0, at).filter((r) => r.path === backlogPath).length - before;
}

describe('fair share across tenants and endpoints', () => {
  it(`a tenant's ${BACKLOG}-event backlog delays another tenant's fresh event by fewer than ${BOUND} deliveries`, async () => {
    const rx = await receiver();
    const t = await context(queuedEnv(), {
      tenants: [
        { id: 'big', endpoints: [endpoint('hook', { url: `${rx.url}/big` })] },
        { id: 'small', endpoints: [endpoint('hook', { url: `${rx.url}/small` })] },
      ],
    });
    const roles: RunningRole[] = [];
    cleanups.push(() => stopLast(roles));
    await publishMany(t, 'big', 'bulk.made', BACKLOG);
    await bridgeUntil(t, roles, BACKLOG);
    roles.push(await startWorker(t.ctx));
    const ahead = await backlogDeliveredBefore(t, rx, '/big', { tenant: 'small', type: 'fresh.made', path: '/small' });
    expect(ahead).toBeLessThan(BOUND);
    // Most of the backlog is still queued: the fresh event did not wait for it.
    expect(rx.requests.filter((r) => r.path === '/big').length).toBeLessThan(BACKLOG / 2);
  });

  it(`an endpoint's ${BACKLOG}-event backlog delays another endpoint of the same tenant by fewer than ${BOUND} deliveries`, async () => {
    const rx = await receiver();
    const t = await context(queuedEnv(), {
      tenants: [
        {
          id: 'acme',
          endpoints: [
            endpoint('bulk', { url: `${rx.url}/bulk`, events: ['bulk.*'] }),
            endpoint('fresh', { url: `${rx.url}/fresh`, events: ['fresh.*'] }),
          ],
        },
      ],
    });
    const roles: RunningRole[] = [];
    cleanups.push(() => stopLast(roles));
    await publishMany(t, 'acme', 'bulk.made', BACKLOG);
    await bridgeUntil(t, roles, BACKLOG);
    roles.push(await startWorker(t.ctx));
    const ahead = await backlogDeliveredBefore(t, rx, '/bulk', { tenant: 'acme', type: 'fresh.made', path: '/fresh' });
    expect(ahead).toBeLessThan(BOUND);
    expect(rx.requests.filter((r) => r.path === '/bulk').length).toBeLessThan(BACKLOG / 2);
  });
});

describe('retries', () => {
  it("a retried job re-enters behind its flow's queued jobs, not at the head of the queue", async () => {
    // The first request fails: its job was first in line, and without a fresh tag its retry
    // would return ahead of the 1,999 jobs queued behind it.
    const rx = await startReceiver((_req, i) => ({ status: i === 0 ? 503 : 200 }));
    cleanups.push(() => rx.close());
    const t = await context(queuedEnv(), {
      tenants: [
        { id: 'acme', endpoints: [endpoint('hook', { url: `${rx.url}/hook`, retry: { attempts: 2, backoffMs: 10 } })] },
      ],
    });
    const roles: RunningRole[] = [];
    cleanups.push(() => stopLast(roles));
    await publishMany(t, 'acme', 'order.made', 2_000);
    await bridgeUntil(t, roles, 2_000);
    roles.push(await startWorker(t.ctx));
    await rx.waitFor(2_001, 120_000);
    const first = rx.requests[0]!.headers['x-wss-event-id'];
    const retry = rx.requests.findIndex((r, i) => i > 0 && r.headers['x-wss-event-id'] === first);
    expect(rx.requests[retry]!.headers['x-wss-attempt']).toBe('2');
    // Behind (nearly) all of its flow's queue; WSS_CONCURRENCY 50 jobs may be in flight alongside.
    expect(retry).toBeGreaterThan(2_000 - 100);
  });
});

describe('priority', () => {
  it("a tenant's high event overtakes its 5,000 queued normal events", async () => {
    const rx = await receiver();
    const t = await context(queuedEnv(), {
      tenants: [{ id: 'acme', endpoints: [endpoint('hook', { url: `${rx.url}/hook` })] }],
    });
    const roles: RunningRole[] = [];
    cleanups.push(() => stopLast(roles));
    await publishMany(t, 'acme', 'order.made', 5_000);
    await t.ctx.redis.xadd(
      t.config.stream,
      '*',
      'tenant',
      'acme',
      'type',
      'order.made',
      'data',
      '{}',
      'id',
      'urgent-1',
      'priority',
      'high',
    );
    await bridgeUntil(t, roles, 5_001);
    const job = await t.queue.getJob('acme.hook.urgent-1');
    expect(job?.data.priority).toBe('high');
    roles.push(await startWorker(t.ctx));
    await waitUntil(
      'the high event',
      () => rx.requests.some((r) => r.headers['x-wss-event-id'] === 'urgent-1'),
      60_000,
    );
    const at = rx.requests.findIndex((r) => r.headers['x-wss-event-id'] === 'urgent-1');
    // Among the first the worker took (WSS_CONCURRENCY 50 in flight), not behind the 5,000.
    expect(at).toBeLessThan(100);
  });

  it('dead-letters an entry whose priority is not high, normal or low, with the reason', async () => {
    const rx = await receiver();
    const t = await context(queuedEnv(), {
      tenants: [{ id: 'acme', endpoints: [endpoint('hook', { url: `${rx.url}/hook` })] }],
    });
    const roles: RunningRole[] = [];
    cleanups.push(() => stopLast(roles));
    await t.ctx.redis.xadd(t.config.stream, '*', 'tenant', 'acme', 'type', 'a', 'data', '{}', 'priority', 'urgent');
    await t.ctx.redis.xadd(t.config.stream, '*', 'tenant', 'acme', 'type', 'a', 'data', '{}', 'priority', 'low');
    const bridge = await bridgeUntil(t, roles, 1);
    await waitUntil('both entries handled', () => bridge.stats().entries >= 2);
    const dead = await deadLetters(t);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.fields).toMatchObject({
      tenant: 'acme',
      priority: 'urgent',
      reason: 'field "priority" must be "high", "normal" or "low"',
    });
    const jobs = await t.queue.getJobs(['prioritized', 'waiting']);
    expect(jobs.map((j) => j.data.priority)).toEqual(['low']);
  });
});
