// Cluster mode's connection layer on a real 3-master Redis Cluster: REDIS_CLUSTER_NODES parsing,
// createRedis giving a cluster client that follows MOVED, CLIENT LIST across masters (the
// bridge's dead-consumer check), readiness, WAIT, and a single-node URL that keeps its client.
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { ConfigError } from '../src/lib/errors.js';
import { liveConnectionNames } from '../src/producers/sources/redis-stream/claim.js';
import { connectedReplicas, ReplicaWaiter } from '../src/producers/wait-replicas.js';
import { redisReadiness } from '../src/probes/health.js';
import { createRedis, describeTarget, duplicateClient } from '../src/redis/client.js';
import { useTestCluster } from './helpers/redis-cluster.js';
import { useTestRedis } from './helpers/redis-server.js';

describe('REDIS_CLUSTER_NODES', () => {
  it('parses seeds, TLS and credentials from the URLs', () => {
    const c = parseConfig({ REDIS_CLUSTER_NODES: 'rediss://app:p%40ss@10.0.0.1:7000, rediss://app:p%40ss@[::1]:7001' });
    expect(c.redisClusterNodes).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      tls: true,
      username: 'app',
      password: 'p@ss',
    });
    expect(c.layout.cluster).toBe(true);
    expect(describeTarget(c)).toBe('cluster rediss://10.0.0.1:7000,::1:7001');
    expect(parseConfig({}).redisClusterNodes).toBeUndefined();
    expect(parseConfig({}).layout.cluster).toBe(false);
  });

  it.each([
    ['redis://a:7000,', 'entry 2 is empty'],
    ['a:7000', 'entry 1: expected redis:// or rediss://'],
    ['http://a:7000', 'expected redis:// or rediss://'],
    ['redis://a', 'needs a host and a port'],
    ['redis://a:7000/2', 'only database 0'],
    ['redis://a:7000,rediss://a:7001', 'entry 2 differs from entry 1'],
    ['redis://:one@a:7000,redis://:two@a:7001', 'entry 2 differs from entry 1'],
  ])('refuses %s naming the variable', (value, message) => {
    let err: unknown;
    try {
      parseConfig({ REDIS_CLUSTER_NODES: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('REDIS_CLUSTER_NODES');
    expect((err as Error).message).toContain(message);
  });

  it('WSS_WAIT_REPLICAS is off by default and refuses what is not a replica count', () => {
    expect(parseConfig({}).bridge).toMatchObject({ waitReplicas: 0, waitTimeoutMs: 1_000 });
    expect(parseConfig({ WSS_WAIT_REPLICAS: '1', WSS_WAIT_TIMEOUT_MS: '250' }).bridge).toMatchObject({
      waitReplicas: 1,
      waitTimeoutMs: 250,
    });
    expect(() => parseConfig({ WSS_WAIT_REPLICAS: 'all' })).toThrow(/WSS_WAIT_REPLICAS/);
    expect(() => parseConfig({ WSS_WAIT_REPLICAS: '-1' })).toThrow(/WSS_WAIT_REPLICAS/);
  });

  it('never shows a password in its errors', () => {
    expect(() => parseConfig({ REDIS_CLUSTER_NODES: 'redis://u:hunter2secret@a:7000/3' })).toThrow(/u@a:7000/);
    expect(() => parseConfig({ REDIS_CLUSTER_NODES: 'redis://u:hunter2secret@a:7000/3' })).not.toThrow(/hunter2/);
  });
});

describe('connectedReplicas', () => {
  it('reads connected_slaves from INFO replication', () => {
    expect(connectedReplicas('# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=x\r\n')).toBe(2);
    expect(connectedReplicas('# Replication\r\nrole:slave\r\n')).toBe(0);
  });
});

describe('a single Redis (REDIS_URL)', () => {
  const { redis } = useTestRedis();

  it('keeps a plain client', async () => {
    const r = createRedis(parseConfig({ REDIS_URL: redis().url }), 'single');
    try {
      expect(r).toBeInstanceOf(Redis);
      expect(await r.ping()).toBe('PONG');
      // No replica to confirm anything: the waiter says so instead of stalling the bridge.
      const waiter = new ReplicaWaiter({ replicas: 1, timeoutMs: 60_000 }, Date.now);
      expect(await waiter.wait([r])).toEqual({ acked: 0, short: true });
    } finally {
      r.disconnect();
    }
  });
});

describe('a Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  const cluster = useTestCluster({ masters: 3 });

  it('gives a cluster client that reaches keys on every master from one seed', async () => {
    const c = cluster();
    const config = parseConfig({ REDIS_CLUSTER_NODES: c.seeds([c.nodes[0]!.port]), REDIS_URL: 'redis://nowhere:1' });
    const r = createRedis(config, 'conn-test');
    try {
      expect(r).toBeInstanceOf(Cluster);
      const keys = Array.from({ length: 30 }, (_, i) => `conn-test:k${i}`);
      for (const k of keys) await r.set(k, k);
      const owners = new Set(await Promise.all(keys.map(async (k) => (await c.ownerOf(k)).port)));
      expect(owners.size).toBe(3);
      for (const k of keys) expect(await r.get(k)).toBe(k);
      expect(await redisReadiness(r, 1_000)).toEqual({ ok: true, detail: 'redis reachable' });
    } finally {
      r.disconnect();
    }
  });

  it('CLIENT LIST covers every master, so a reader connected to one node only counts as live', async () => {
    const c = cluster();
    const config = parseConfig({ REDIS_CLUSTER_NODES: c.seeds() });
    const r = createRedis(config, 'conn-list');
    const reader = duplicateClient(r, { connectionName: 'wss-bridge:reader-x' });
    try {
      // A client that has sent nothing yet (the bridge's reader at its first claim) is listed.
      expect((await liveConnectionNames(reader))?.has('wss-bridge:reader-x')).toBe(true);
      // The reader talks to the master of one key only (ioredis connects to nodes lazily).
      await reader.xadd('conn-test:stream', '*', 'f', 'v');
      const owner = await c.ownerOf('conn-test:stream');
      const ownerNames = String(await c.nodeClient(owner.port).call('CLIENT', 'LIST'));
      expect(ownerNames).toContain('name=wss-bridge:reader-x');
      const names = await liveConnectionNames(r);
      expect(names?.has('wss-bridge:reader-x')).toBe(true);
      reader.disconnect();
      await new Promise((res) => setTimeout(res, 200));
      expect((await liveConnectionNames(r))?.has('wss-bridge:reader-x')).toBe(false);
    } finally {
      reader.disconnect();
      r.disconnect();
    }
  });

  it('WAIT asks every master; masters without replicas are reported short', async () => {
    const c = cluster();
    const r = createRedis(parseConfig({ REDIS_CLUSTER_NODES: c.seeds() }), 'conn-wait');
    try {
      await r.set('conn-test:w', '1');
      const waiter = new ReplicaWaiter({ replicas: 1, timeoutMs: 60_000 }, Date.now);
      expect(await waiter.wait([r])).toEqual({ acked: 0, short: true });
    } finally {
      r.disconnect();
    }
  });
});
