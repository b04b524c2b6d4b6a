import { describe, expect, it } from 'vitest';
import {
  allShardQueueNames,
  crc16,
  endpointKeyBase,
  keySlot,
  shardOf,
  shardQueueName,
  shardTag,
  SLOTS,
} from '../src/redis/shards.js';

describe('cluster key slots', () => {
  it('crc16 matches the Redis Cluster spec check value and CLUSTER KEYSLOT answers', () => {
    // The spec's reference: CRC16/XMODEM("123456789") = 0x31C3.
    expect(crc16('123456789')).toBe(0x31c3);
    // `CLUSTER KEYSLOT` answers from Redis' documentation.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('hello')).toBe(866);
  });

  it('honours hash tags as Redis does', () => {
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('{user1000}.following')).toBe(crc16('user1000') % SLOTS);
    // An empty tag `{}` does not count: the whole key is hashed.
    expect(keySlot('foo{}{bar}')).toBe(crc16('foo{}{bar}') % SLOTS);
    expect(keySlot('foo{{bar}}zap')).toBe(crc16('{bar') % SLOTS);
  });
});

describe('shard layout', () => {
  const legacy = { count: 1, cluster: false };
  it('one shard on one Redis keeps the key names of before sharding', () => {
    expect(shardQueueName(legacy, 0)).toBe('deliveries');
    expect(shardTag(legacy, 0)).toBe('');
    expect(endpointKeyBase('wss', legacy, 'acme', 'orders')).toBe('wss');
  });

  it('puts shard k of N in the k-th of N equal slot ranges', () => {
    for (const count of [1, 2, 3, 4, 6]) {
      const layout = { count, cluster: true };
      const names = allShardQueueNames(layout);
      expect(new Set(names).size).toBe(count);
      names.forEach((name, k) => {
        const slot = keySlot(`wss:${name}:wait`);
        expect(slot).toBeGreaterThanOrEqual(Math.floor((k * SLOTS) / count));
        expect(slot).toBeLessThan(Math.floor(((k + 1) * SLOTS) / count));
      });
    }
  });

  it("keeps an endpoint's keys in its shard's slot", () => {
    const layout = { count: 3, cluster: true };
    const k = shardOf('acme', 'orders', 3);
    const queueSlot = keySlot(`wss:${shardQueueName(layout, k)}:wait`);
    expect(keySlot(`${endpointKeyBase('wss', layout, 'acme', 'orders')}:limits:acme:orders:slots`)).toBe(queueSlot);
  });

  it('spreads endpoints over the shards, stably', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3_000; i++) counts[shardOf('t', `e${i}`, 3)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
    expect(shardOf('acme', 'orders', 3)).toBe(shardOf('acme', 'orders', 3));
    expect(shardOf('acme', 'orders', 1)).toBe(0);
  });
});
