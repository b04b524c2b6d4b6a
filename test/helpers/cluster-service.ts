// `wss` processes on a test Redis Cluster (redis-cluster.ts): their environment and the key
// layout the cluster suites run with.
import type { TestCluster } from './redis-cluster.js';

/**
 * The key layout on a cluster. Until sharded queues exist, every BullMQ, limiter and fair-share
 * key shares one hash tag (`{<name>}` as the prefix); the stream and its dead-letter stream are
 * other keys, on whichever node owns them.
 */
export function clusterLayoutEnv(name: string): Record<string, string> {
  return { WSS_PREFIX: `{${name}}` };
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
    ...clusterLayoutEnv(name),
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
 * `<base><i>` for the first i whose stream (`<name>:events`) lives on another master than its
 * `{<name>}` keys: the stream commands and the BullMQ scripts then go to different nodes.
 */
export async function splitName(cluster: TestCluster, base: string): Promise<string> {
  for (let i = 0; ; i++) {
    const name = `${base}${i}`;
    if ((await cluster.ownerOf(`${name}:events`)).port !== (await cluster.ownerOf(`{${name}}`)).port) return name;
  }
}
