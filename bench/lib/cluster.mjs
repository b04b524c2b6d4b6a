// A local Redis Cluster for the bench: `masters` redis-server --cluster-enabled nodes on free
// ports (bus ports chosen too), joined by `redis-cli --cluster create`, with the bench's Redis
// tuning. Gives each node's INFO CPU so a scenario can split Redis CPU by node.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { freePort, sleep, waitUntil } from './env.mjs';

const REDIS_TUNING = ['--hash-max-listpack-value', '1024'];

// Every node still running; killed if the bench exits early (a failed or interrupted scenario).
const running = new Set();
process.on('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

async function startNode() {
  const port = await freePort();
  let bus = await freePort();
  while (bus === port) bus = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wss-bench-cluster-'));
  const proc = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1'],
      ...[
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '2000',
      ],
      ...['--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
      ...REDIS_TUNING,
    ],
    { stdio: 'ignore' },
  );
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null, lazyConnect: true });
  client.on('error', () => {});
  await waitUntil(
    async () => {
      if (proc.exitCode !== null) throw new Error(`cluster node on ${port} exited with ${proc.exitCode}`);
      return client.connect().then(
        () => true,
        () => false,
      );
    },
    { timeoutMs: 10_000, everyMs: 50, what: `cluster node on ${port}` },
  );
  return { port, url: `redis://127.0.0.1:${port}`, pid: proc.pid, proc, dir, client };
}

/** Seconds of CPU (user + system) a node reports in INFO CPU. */
async function nodeCpu(node) {
  const text = await node.client.info('cpu');
  const v = (k) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
  return v('used_cpu_sys') + v('used_cpu_user');
}

/** `replicas` per master (0 or 1); `cpu()` and `ownerOf` cover every node, replicas too. */
export async function startCluster(masters = 3, replicas = 0) {
  const nodes = await Promise.all(Array.from({ length: masters * (1 + replicas) }, startNode));
  const created = spawnSync(
    'redis-cli',
    [
      ...['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`)],
      ...['--cluster-replicas', String(replicas), '--cluster-yes'],
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  await waitUntil(
    async () => {
      for (const n of nodes) if (!/cluster_state:ok/.test(await n.client.call('CLUSTER', 'INFO'))) return false;
      // Every replica has finished its first sync.
      for (const n of nodes) {
        const info = await n.client.info('replication');
        if (/role:slave/.test(info) && !/master_link_status:up/.test(info)) return false;
      }
      return true;
    },
    { timeoutMs: 30_000, everyMs: 100, what: 'cluster_state:ok on every node' },
  );
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
      for (const n of nodes) {
        n.client.disconnect();
        if (n.proc.exitCode === null) {
          const exited = new Promise((res) => n.proc.once('exit', res));
          n.proc.kill('SIGKILL');
          await exited;
        }
        rmSync(n.dir, { recursive: true, force: true });
      }
      await sleep(0);
    },
  };
}
