// `wss` processes on a test Redis Cluster (redis-cluster.ts): their environment and the key
// layout the cluster suites run with.
import { shardOf, shardQueueName, type ShardLayout } from '../../src/redis/shards.js';
import type { TestCluster } from './redis-cluster.js';

/** WSS_SHARDS of the cluster suites: one delivery queue per master of a 3-master cluster. */
export const SHARDS = 3;
export const CLUSTER_LAYOUT: ShardLayout = { count: SHARDS, cluster: true };

/** The BullMQ queue (and so the hash tag, the node) an endpoint's jobs go to. */
export function queueOf(tenant: string, endpoint: string): string {
  return shardQueueName(CLUSTER_LAYOUT, shardOf(tenant, endpoint, SHARDS));
}

/** Env for `wss` on the cluster, its own prefix and stream, delivering to 127.0.0.1. */
export function clusterEnv(
  cluster: TestCluster,
  name: string,
  extra: Record<string, string> = {},
  seedPorts?: readonly number[],
): Record<string, string> {
  return {
    REDIS_CLUSTER_NODES: cluster.seeds(seedPorts),
    WSS_SHARDS: String(SHARDS),
    WSS_PREFIX: name,
    WSS_STREAM: `${name}:events`,
    WSS_GROUP: `${name}-bridge`,
    WSS_ALLOW_PRIVATE_URLS: 'true',
    WSS_HEALTH_PORT: '0',
    WSS_REGISTRY_POLL_MS: '100',
    WSS_BLOCK_MS: '200',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/**
 * `<base><i>` for the first i whose stream (`<name>:events`) lives on another master than `key`
 * (a queue name: its hash tag decides): the stream's node and that queue's node differ.
 */
export async function splitName(cluster: TestCluster, base: string, key: string): Promise<string> {
  const other = (await cluster.ownerOf(key)).port;
  for (let i = 0; ; i++) {
    const name = `${base}${i}`;
    if ((await cluster.ownerOf(`${name}:events`)).port !== other) return name;
  }
}
