// The delivery log's writes on a real 3-master cluster: a batch of attempt lines (by event shard)
// and search entries (by endpoint shard) goes out as one script call per shard, each call's keys
// in one slot, and everything written reads back.
import { describe, expect, it } from 'vitest';
import { eventShard, settledStreamKey } from '../src/history/keys.js';
import { HistoryStore, type HistoryStoreConfig } from '../src/history/store.js';
import type { SettledEntry } from '../src/history/record-attempt.js';
import { createRedis } from '../src/redis/client.js';
import { parseConfig } from '../src/config.js';
import { shardOf } from '../src/redis/shards.js';
import { useTestCluster } from './helpers/redis-cluster.js';

const SHARDS = 3;

async function scriptCalls(ports: number[], client: (port: number) => { info(s: string): Promise<string> }) {
  let calls = 0;
  for (const port of ports) {
    const text = await client(port).info('commandstats');
    calls += Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(text)?.[1] ?? 0);
    calls += Number(/^cmdstat_eval:calls=(\d+)/m.exec(text)?.[1] ?? 0);
  }
  return calls;
}

describe('delivery log writes on a Redis Cluster', () => {
  const cluster = useTestCluster({ masters: 3 });

  it('sends one script call per shard for a batch of lines and entries, and reads all of it back', async () => {
    const c = cluster();
    const r = createRedis(parseConfig({ REDIS_CLUSTER_NODES: c.seeds() }), 'history-cluster');
    try {
      const cfg: HistoryStoreConfig = {
        prefix: 'hc',
        layout: { count: SHARDS, cluster: true },
        retentionMs: 3_600_000,
        maxRecords: 10_000,
      };
      const store = new HistoryStore(r, cfg);
      const now = Date.now();
      const events = Array.from({ length: 12 }, (_, i) => `ev-${i}`);
      const settled: SettledEntry[] = events.map((eventId, i) => ({
        tenant: 'acme',
        endpoint: `ep${i}`,
        eventId,
        state: 'delivered',
        attempts: 1,
        status: 200,
      }));
      // The batch must span every shard on both sides, and mix them (an event's line and its
      // endpoint's entry on different shards), else it proves nothing about the grouping.
      expect(new Set(events.map((e) => eventShard(e, cfg.layout))).size).toBe(SHARDS);
      expect(new Set(settled.map((e) => shardOf(e.tenant, e.endpoint, SHARDS))).size).toBe(SHARDS);
      expect(settled.some((e) => eventShard(e.eventId, cfg.layout) !== shardOf(e.tenant, e.endpoint, SHARDS))).toBe(
        true,
      );
      // Scripts loaded once (the first call of a defined command may be an EVAL).
      await store.write([{ eventId: 'warm', lines: ['w'] }], [], now);

      const ports = c.nodes.map((n) => n.port);
      const before = await scriptCalls(ports, (p) => c.nodeClient(p));
      await store.write(
        events.map((eventId) => ({ eventId, lines: [`line of ${eventId}`] })),
        settled,
        now,
      );
      expect((await scriptCalls(ports, (p) => c.nodeClient(p))) - before).toBe(SHARDS);

      for (const eventId of events) expect(await store.read(eventId)).toEqual([`line of ${eventId}`]);
      const client = c.client();
      for (const e of settled) {
        const entries = await client.xrange(settledStreamKey(cfg, e.tenant, e.endpoint, 'delivered'), '-', '+');
        expect(entries.map(([, fields]) => fields.slice(0, 2))).toEqual([['e', e.eventId]]);
      }
    } finally {
      r.disconnect();
    }
  });
});
