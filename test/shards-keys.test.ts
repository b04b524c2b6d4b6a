// Pure pieces of the sharded queues: queue names → key bases, job ids → endpoints, the keys of
// every multi-key script staying in one cluster slot, the process-wide permits, and the board's
// queue titles.
import { describe, expect, it } from 'vitest';
import { knownQueuesKey, LEGACY_LAYOUT, queueKeyBase, queueTag } from '../src/queue/delivery-queues.js';
import { endpointJobIds, jobEndpoint, jobTenant } from '../src/queue/job.js';
import { queueDisplayName } from '../src/dashboard/bull-board.js';
import { fairKeys } from '../src/queue/fair-state.js';
import { BASE_QUEUE_NAME, keyBase, keySlot, shardKeyBase, shardOf, shardQueueName } from '../src/redis/shards.js';
import { circuitKeys } from '../src/endpoints/circuit.js';
import { limitKeys } from '../src/endpoints/limits.js';
import { Permits } from '../src/workers/gated-worker.js';

const three = { count: 3, cluster: false };
const clustered = { count: 3, cluster: true };

describe('queue names and key bases', () => {
  it('reads the hash tag and the key base from a queue name alone', () => {
    expect(queueTag('deliveries')).toBe('');
    expect(queueTag('deliveries-2of3{3.1.0}')).toBe('{3.1.0}');
    expect(keyBase('wss', '')).toBe('wss');
    expect(keyBase('wss', '{3.1.0}')).toBe('wss:{3.1.0}');
    expect(queueKeyBase('wss', 'deliveries')).toBe('wss');
    expect(queueKeyBase('wss', 'deliveries-2of3{3.1.0}')).toBe('wss:{3.1.0}');
    // The same base shards.ts gives the shard, for every layout.
    for (const layout of [three, clustered, { count: 7, cluster: true }, LEGACY_LAYOUT])
      for (let k = 0; k < layout.count; k++)
        expect(queueKeyBase('wss', shardQueueName(layout, k))).toBe(shardKeyBase('wss', layout, k));
    expect(knownQueuesKey('wss')).toBe('wss:{registry}:queues');
  });

  it('splits a delivery job id into tenant and endpoint', () => {
    expect(jobEndpoint('acme.orders.evt-1')).toEqual({ tenant: 'acme', endpoint: 'orders' });
    expect(jobEndpoint('acme.orders.evt.with.dots')).toEqual({ tenant: 'acme', endpoint: 'orders' });
    expect(jobEndpoint('acme.orders')).toBeUndefined();
    expect(jobEndpoint('r1_acme_orders')).toBeUndefined();
    expect(jobEndpoint('.orders.e')).toBeUndefined();
    expect(jobEndpoint('acme..e')).toBeUndefined();
    expect(jobTenant('acme.orders.evt-1')).toBe('acme');
    expect(jobTenant('.orders.e')).toBeUndefined();
    expect(jobTenant('r1_acme_orders')).toBeUndefined();
  });

  it("tells an endpoint's job ids, and one event's, from the others", () => {
    const all = endpointJobIds('acme', 'orders');
    expect(['acme.orders.e1', 'acme.orders.e1.rx1', 'acme.orders.e10'].every(all)).toBe(true);
    expect(['acme.orders2.e1', 'acme.order.e1', 'acme2.orders.e1', 'acme.orders'].some(all)).toBe(false);
    const one = endpointJobIds('acme', 'orders', 'e1');
    expect(['acme.orders.e1', 'acme.orders.e1.rmbx2k1a9f3c2'].every(one)).toBe(true);
    // Another event whose id starts with "e1" (e10, e1.x) is not this event's.
    expect(['acme.orders.e10', 'acme.orders.e1.x', 'acme.orders2.e1'].some(one)).toBe(false);
  });

  it('keeps the legacy key names with one shard on one Redis', () => {
    expect(circuitKeys('wss', 'acme', 'orders', LEGACY_LAYOUT)).toEqual({
      state: 'wss:circuit:acme/orders',
      recent: 'wss:circuit:acme/orders:recent',
      index: 'wss:circuits',
    });
    expect(limitKeys('wss', 'acme', 'orders', LEGACY_LAYOUT).slots).toBe('wss:limits:acme:orders:slots');
    expect(fairKeys('wss', BASE_QUEUE_NAME)).toEqual({
      clock: 'wss:fair:clock',
      flows: 'wss:fair:flows',
      prioritized: 'wss:deliveries:prioritized',
      delayed: 'wss:deliveries:delayed',
      active: 'wss:deliveries:active',
      jobPrefix: 'wss:deliveries:',
    });
  });

  it('puts the keys of every multi-key script of an endpoint or shard in one slot', () => {
    for (const layout of [three, clustered]) {
      for (const endpoint of ['orders', 'billing', 'ship', 'audit', 'e1', 'e2']) {
        const k = shardOf('acme', endpoint, 3);
        const queue = shardQueueName(layout, k);
        const slot = keySlot(`wss:${queue}:wait`);
        const c = circuitKeys('wss', 'acme', endpoint, layout);
        const l = limitKeys('wss', 'acme', endpoint, layout);
        const f = fairKeys('wss', queue);
        const keys = [c.state, c.recent, c.index, l.slots, l.tokens, l.pause, f.clock, f.flows, f.prioritized];
        expect(keys.map(keySlot)).toEqual(keys.map(() => slot));
        // A job hash the fair-share scripts touch (not declared as a key) too.
        expect(keySlot(`${f.jobPrefix}acme.${endpoint}.evt-1`)).toBe(slot);
        // The circuit index the scrape reads for shard k is the one the scripts write.
        expect(c.index).toBe(`${shardKeyBase('wss', layout, k)}:circuits`);
      }
    }
  });
});

describe('Permits', () => {
  const holder = (permitsHeld: number) => ({ permitsHeld });

  it('hands out at most `size`, and closes', async () => {
    const p = new Permits(2);
    expect(p.tryAcquire()).toBe(true);
    expect(await p.acquire(holder(1))).toBe(true);
    expect(p.inUse).toBe(2);
    expect(p.tryAcquire()).toBe(false);
    const waiting = p.acquire(holder(0));
    p.close();
    expect(await waiting).toBe(false);
    expect(await p.acquire(holder(0))).toBe(false);
    p.release();
    p.release();
    expect(p.inUse).toBe(0);
    p.release();
    expect(p.inUse).toBe(0);
  });

  it('gives a released permit to the waiter holding the fewest, first come first served among equals', async () => {
    const p = new Permits(1);
    p.tryAcquire();
    const order: string[] = [];
    const a = holder(3);
    const b = holder(1);
    const c = holder(1);
    const wa = p.acquire(a).then(() => order.push('a'));
    const wb = p.acquire(b).then(() => order.push('b'));
    const wc = p.acquire(c).then(() => order.push('c'));
    p.release();
    await wb;
    p.release();
    await wc;
    p.release();
    await wa;
    expect(order).toEqual(['b', 'c', 'a']);
  });

  it('asks a holder to hand over only to a waiter with no permit or two fewer', () => {
    const p = new Permits(10);
    for (let i = 0; i < 10; i++) p.tryAcquire();
    const me = holder(4);
    void p.acquire(me);
    void p.acquire(holder(3));
    // Only this holder, or one permit apart: keep it (fetch-next stays one round trip).
    expect(p.shouldHandOver(me)).toBe(false);
    void p.acquire(holder(2));
    expect(p.shouldHandOver(me)).toBe(true);
    expect(p.shouldHandOver(holder(1))).toBe(false);
    void p.acquire(holder(0));
    expect(p.shouldHandOver(holder(1))).toBe(true);
    p.close();
  });
});

describe('Bull Board queue titles', () => {
  it('names the shard when there are several, and marks queues of another WSS_SHARDS', () => {
    expect(queueDisplayName({ name: 'deliveries', shard: 0 }, 1)).toBe('Webhook deliveries');
    expect(queueDisplayName({ name: 'deliveries-2of3{3.1.0}', shard: 1 }, 3)).toBe('Webhook deliveries, shard 2 of 3');
    expect(queueDisplayName({ name: 'deliveries', shard: undefined }, 3)).toContain('another WSS_SHARDS');
  });
});
