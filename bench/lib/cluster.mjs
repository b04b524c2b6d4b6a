// A local Redis Cluster for the bench: the tests' cluster launcher (test/helpers/redis-procs.mjs:
// `masters` nodes on free ports joined by `redis-cli --cluster create`) with the service's Redis
// tuning. Gives each node's INFO CPU so a scenario can split Redis CPU by node.
import { Cluster, Redis } from 'ioredis';
import { REDIS_TUNING } from '../../dist/redis/embedded.js';
import { startClusterNodes } from '../../test/helpers/redis-procs.mjs';
import { sleep } from './env.mjs';

// Every node still running; killed if the bench exits early (a failed or interrupted scenario).
const running = new Set();
process.on('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

/** Seconds of CPU (user + system) a node reports in INFO CPU. */
async function nodeCpu(node) {
  const text = await node.client.info('cpu');
  const v = (k) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
  return v('used_cpu_sys') + v('used_cpu_user');
}

/** `replicas` per master (0 or 1); `cpu()` and `ownerOf` cover every node, replicas too. */
export async function startCluster(masters = 3, replicas = 0) {
  const started = await startClusterNodes({
    masters,
    replicas,
    nodeTimeoutMs: 2_000,
    nodeArgs: () => REDIS_TUNING,
    tmpPrefix: 'wss-bench-cluster-',
    onSpawn: ({ proc }) => {
      running.add(proc);
      proc.once('exit', () => running.delete(proc));
    },
  });
  const nodes = started.nodes.map((n) => {
    const client = new Redis({ port: n.port, host: '127.0.0.1', maxRetriesPerRequest: null });
    client.on('error', () => {});
    return { ...n, url: `redis://127.0.0.1:${n.port}`, pid: n.proc.pid, client };
  });
  const client = new Cluster(
    nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    { redisOptions: { maxRetriesPerRequest: null } },
  );
  client.on('error', () => {});
  return {
    nodes,
    client,
    seeds: nodes.map((n) => n.url).join(','),
    /** Each node's CPU seconds so far, by port. */
    cpu: async () => Object.fromEntries(await Promise.all(nodes.map(async (n) => [n.port, await nodeCpu(n)]))),
    /** The port of the master owning `key`. */
    async ownerOf(key) {
      const slot = Number(await nodes[0].client.call('CLUSTER', 'KEYSLOT', key));
      for (const [from, to, [, port]] of await nodes[0].client.call('CLUSTER', 'SLOTS'))
        if (slot >= from && slot <= to) return port;
      return undefined;
    },
    async close() {
      client.disconnect();
      for (const n of nodes) n.client.disconnect();
      await started.stop();
      await sleep(0);
    },
  };
}
