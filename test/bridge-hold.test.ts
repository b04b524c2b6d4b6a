// Hold-back end to end (src/producers/hold.ts, hold-reader.ts): a tenant's backlog still in the
// Redis Stream, not yet queued, delays another tenant's fresh event by a bounded number of
// deliveries, through the real bridge, worker and receiver, at default hold settings. And what
// is held stays at least once: kept from take-over by live bridges without counting deliveries,
// taken over after the bridge is gone, every event delivered exactly once. Counts, never clocks.
import { describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
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
const BOUND = 500;

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}

function stopAll(roles: RunningRole[]): () => Promise<void> {
  return async () => {
    for (const r of [...roles].reverse()) await r.stop();
  };
}

async function publishMany(t: TestCtx, tenant: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1_000) {
    const p = t.ctx.redis.pipeline();
    for (let j = i; j < Math.min(count, i + 1_000); j++)
      p.xadd(t.config.stream, '*', 'tenant', tenant, 'type', 'bulk.made', 'data', `{"n":${j}}`, 'id', `${tenant}-${j}`);
    await p.exec();
  }
}

const eventIds = (rx: Receiver, path: string) =>
  rx.requests.filter((r) => r.path === path).map((r) => String(r.headers['x-wss-event-id']));

/** Per pending entry of the group: its delivery count. */
async function deliveryCounts(t: TestCtx): Promise<number[]> {
  const reply = (await t.ctx.redis.call('XPENDING', t.config.stream, t.config.group, '-', '+', 100_000)) as unknown[][];
  return reply.map((p) => Number(p[3]));
}

describe('hold-back: fairness from the source', () => {
  it(`a backlog of ${BACKLOG} still in the stream delays another tenant's fresh event by fewer than ${BOUND} deliveries`, async () => {
    const rx = await receiver();
    // Default bridge settings: hold (WSS_HOLD_AFTER 2000, WSS_HOLD_MAX_BYTES 64 MiB), batch size,
    // reads and claims (isolatedEnv's claim ticks every 100 ms are for take-over tests).
    const defaults = { WSS_BLOCK_MS: '1000', WSS_CLAIM_INTERVAL_MS: '30000', WSS_CLAIM_IDLE_MS: '60000' };
    const t = await context(isolatedEnv(defaults), {
      tenants: [
        { id: 'big', endpoints: [endpoint('hook', { url: `${rx.url}/big` })] },
        { id: 'small', endpoints: [endpoint('hook', { url: `${rx.url}/small` })] },
      ],
    });
    const roles: RunningRole[] = [];
    cleanups.push(stopAll(roles));
    await publishMany(t, 'big', BACKLOG);
    const bridge = await startBridge(t.ctx);
    roles.push(bridge);
    roles.push(await startWorker(t.ctx));

    const ofBig = () => rx.requests.filter((r) => r.path === '/big').length;
    await waitUntil("big's first 200 deliveries", () => ofBig() >= 200, 120_000);
    const before = ofBig();
    // The backlog is still mostly in the stream, held back, not queued.
    expect(bridge.stats().held).toBeGreaterThan(0);
    expect(bridge.stats().jobs).toBeLessThan(BACKLOG / 2);
    await t.ctx.redis.xadd(
      t.config.stream,
      '*',
      'tenant',
      'small',
      'type',
      'fresh.made',
      'data',
      '{}',
      'id',
      'fresh-1',
    );
    await waitUntil("small's event", () => rx.requests.some((r) => r.path === '/small'), 120_000);
    const at = rx.requests.findIndex((r) => r.path === '/small');
    const ahead = rx.requests.slice(0, at).filter((r) => r.path === '/big').length - before;
    expect(ahead).toBeLessThan(BOUND);

    // Everything delivered, exactly once, nothing dead-lettered, nothing left pending.
    await rx.waitFor(BACKLOG + 1, 600_000);
    await waitUntil('every entry acknowledged', async () => (await deliveryCounts(t)).length === 0, 60_000);
    const big = eventIds(rx, '/big');
    expect(new Set(big).size).toBe(BACKLOG);
    expect(big).toHaveLength(BACKLOG);
    expect(eventIds(rx, '/small')).toEqual(['fresh-1']);
    expect(await deadLetters(t)).toEqual([]);
    expect(bridge.stats()).toMatchObject({ held: 0, entries: BACKLOG + 1, poison: 0 });
    // Big's events in the stream's order (held ones released oldest first): none is overtaken by
    // one 2,000 entries later (the worker has 50 in flight, some of them slow on a busy machine).
    const position = new Map(big.map((id, i) => [Number(id.slice('big-'.length)), i]));
    const overtaken = [...position].filter(([n, at]) => n + 2_000 < BACKLOG && position.get(n + 2_000)! < at);
    expect(overtaken).toEqual([]);
  }, 900_000);

  it("holds what is bound for an endpoint with a backlog, not the tenant's other endpoints", async () => {
    const t = await context(isolatedEnv({ WSS_HOLD_AFTER: '100', WSS_BATCH_SIZE: '50' }), {
      tenants: [
        {
          id: 'acme',
          endpoints: [endpoint('slow', { events: ['slow.*'] }), endpoint('fast', { events: ['fast.*'] })],
        },
      ],
    });
    const p = t.ctx.redis.pipeline();
    for (let i = 0; i < 1_000; i++)
      p.xadd(t.config.stream, '*', 'tenant', 'acme', 'type', 'slow.made', 'data', '{}', 'id', `s-${i}`);
    for (let i = 0; i < 20; i++)
      p.xadd(t.config.stream, '*', 'tenant', 'acme', 'type', 'fast.made', 'data', '{}', 'id', `f-${i}`);
    await p.exec();
    const roles: RunningRole[] = [];
    cleanups.push(stopAll(roles));
    // No worker: the slow endpoint's queue only grows.
    const bridge = await startBridge(t.ctx);
    roles.push(bridge);
    await waitUntil('fast events queued', () => bridge.stats().jobs >= 120, 60_000);
    await waitUntil('the rest held', () => bridge.stats().jobs + bridge.stats().held === 1_020, 60_000);
    const fast = await Promise.all(Array.from({ length: 20 }, (_, i) => t.queue.getJob(`acme.fast.f-${i}`)));
    expect(fast.every((j) => j !== undefined)).toBe(true);
    expect(bridge.stats().held).toBeGreaterThan(800);
  }, 120_000);

  it('keeps held entries from take-over by a live bridge without counting deliveries; after a stop, another bridge takes them over and every event is delivered once', async () => {
    const rx = await receiver();
    const env = isolatedEnv({ WSS_HOLD_AFTER: '500', WSS_BATCH_SIZE: '100' });
    const t = await context(env, {
      tenants: [{ id: 'big', endpoints: [endpoint('hook', { url: `${rx.url}/big` })] }],
    });
    const total = 3_000;
    await publishMany(t, 'big', total);
    const first: RunningRole[] = [];
    const rest: RunningRole[] = [];
    cleanups.push(stopAll(rest), stopAll(first));
    const b1 = await startBridge(t.ctx);
    first.push(b1);
    // No worker: the bridge queues just over 500 and holds the rest.
    await waitUntil('the rest held', () => b1.stats().jobs + b1.stats().held === total, 120_000);
    expect(b1.stats().jobs).toBeGreaterThanOrEqual(500);
    expect(b1.stats().jobs).toBeLessThan(1_000);

    // A second bridge on the same group (WSS_CLAIM_IDLE_MS 1000): held entries stay b1's.
    const t2 = await context({ ...env, WSS_CONSUMER: 'c2' });
    const b2 = await startBridge(t2.ctx);
    rest.push(b2);
    await new Promise((r) => setTimeout(r, 3_500));
    expect(b2.stats().claimed).toBe(0);
    const counts = await deliveryCounts(t);
    expect(counts).toHaveLength(b1.stats().held);
    expect(counts.every((c) => c === 1)).toBe(true);

    // b1 goes: its held entries are pending under a consumer with no connection; b2 takes them.
    const held = b1.stats().held;
    await b1.stop();
    first.length = 0;
    await waitUntil('b2 took them over', () => b2.stats().claimed >= held, 60_000);
    rest.push(await startWorker(t.ctx));
    await rx.waitFor(total, 300_000);
    await waitUntil('every entry acknowledged', async () => (await deliveryCounts(t)).length === 0, 60_000);
    const ids = eventIds(rx, '/big');
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    expect(await deadLetters(t)).toEqual([]);
  }, 600_000);
});
