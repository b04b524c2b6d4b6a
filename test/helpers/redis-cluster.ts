// A real local Redis Cluster for a test file: redis-server --cluster-enabled on free ports (each
// in its own temp dir, nothing persisted), joined with `redis-cli --cluster create` (both by
// redis-procs.mjs, which the bench uses too). 3 masters,
// or 3 masters + 1 replica each for failover tests (node timeout 1 s, so a replica takes over
// within a few seconds of its master's kill -9). With `tls` and `password`: TLS-only nodes whose
// cluster bus and replication run over TLS too, each requiring the password.
import type { ChildProcess } from 'node:child_process';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';
import { SLOTS } from '../../src/redis/shards.js';
import { waitUntil } from './context.js';
import type { UseTestRedis } from './redis-server.js';
import { killNode, startClusterNodes } from './redis-procs.mjs';
// Tracks the nodes (children.ts), so an interrupted run kills them.
import './children.js';
import { tlsServerArgs, type TestCerts } from './tls-certs.js';

export interface ClusterNodeProc {
  port: number;
  /** `redis://127.0.0.1:<port>` (`rediss://:<password>@…` with TLS and a password) */
  url: string;
  dir: string;
  proc: ChildProcess;
}

export interface NodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** For a replica, its master's id. */
  masterId: string | undefined;
  /** Slot ranges [from, to] (masters). */
  slots: Array<[number, number]>;
  alive: boolean;
}

export interface TestCluster {
  nodes: ClusterNodeProc[];
  /** REDIS_CLUSTER_NODES for every node started (or only `ports`). */
  seeds(ports?: readonly number[]): string;
  /** A plain cluster client for assertions, disconnected on close. */
  client(): Cluster;
  /** A direct connection to one node (node-local commands), disconnected on close. */
  nodeClient(port: number): Redis;
  /** The cluster's view (CLUSTER NODES) from a live node. */
  topology(): Promise<NodeInfo[]>;
  /** The master that owns `key` now (CLUSTER KEYSLOT, then the slot ranges of CLUSTER NODES). */
  ownerOf(key: string): Promise<NodeInfo>;
  /** kill -9 of one node. */
  kill(port: number): Promise<void>;
  /** Until every live node reports cluster_state:ok and `check` passes on the topology. */
  waitUntil(check?: (nodes: NodeInfo[]) => boolean, timeoutMs?: number): Promise<NodeInfo[]>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  masters?: number;
  /** Replicas per master (0 or 1). */
  replicas?: number;
  nodeTimeoutMs?: number;
  /** TLS-only nodes with these certificates: `--port 0`, `--tls-cluster`, `--tls-replication`. */
  tls?: TestCerts;
  /** `--requirepass` and `--masterauth` on every node (user `default`). */
  password?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parseNodes(text: string): NodeInfo[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, master, , , , , ...slots] = line.trim().split(' ');
      const fl = flags!.split(',');
      return {
        id: id!,
        port: Number(addr!.split('@')[0]!.split(':').at(-1)),
        role: fl.includes('master') ? ('master' as const) : ('replica' as const),
        masterId: master === '-' ? undefined : master,
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [a, b] = s.split('-');
            return [Number(a), Number(b ?? a)] as [number, number];
          }),
        alive: !fl.includes('fail') && !fl.includes('fail?') && !fl.includes('noaddr'),
      };
    });
}

/** How the helper's own connections reach a node: the CA and password of the options. */
function connOptions(opts: ClusterOptions): RedisOptions {
  return {
    ...(opts.tls ? { tls: { ca: opts.tls.ca } } : {}),
    ...(opts.password === undefined ? {} : { password: opts.password }),
  };
}

/** REDIS_CLUSTER_NODES-style URL of a node. */
function nodeUrl(opts: ClusterOptions, port: number): string {
  const auth = opts.password === undefined ? '' : `:${encodeURIComponent(opts.password)}@`;
  return `${opts.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<TestCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 0;
  const conn = connOptions(opts);
  const started = await startClusterNodes({
    masters,
    replicas,
    nodeTimeoutMs: opts.nodeTimeoutMs ?? 1_000,
    nodeArgs: (port) => [
      // A replica whose link was slow to come up on a busy machine still takes over.
      '--cluster-replica-validity-factor',
      '0',
      ...(opts.tls ? [...tlsServerArgs(opts.tls, port), '--tls-cluster', 'yes', '--tls-replication', 'yes'] : []),
      ...(opts.password === undefined ? [] : ['--requirepass', opts.password, '--masterauth', opts.password]),
    ],
    cliArgs: [
      ...(opts.tls ? ['--tls', '--cacert', opts.tls.caFile] : []),
      ...(opts.password === undefined ? [] : ['-a', opts.password, '--no-auth-warning']),
    ],
    conn,
    tmpPrefix: 'wss-test-cluster-',
  });
  const nodes: ClusterNodeProc[] = started.nodes.map((n) => ({ ...n, url: nodeUrl(opts, n.port) }));
  const clients: Array<Redis | Cluster> = [];
  const dead = new Set<number>();

  const nodeClient = (port: number) => {
    const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null, ...conn });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  const live = () => nodes.filter((n) => !dead.has(n.port));
  const topology = async () => {
    for (const n of live()) {
      const c = new Redis({
        port: n.port,
        host: '127.0.0.1',
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        ...conn,
      });
      c.on('error', () => {});
      try {
        return parseNodes(String(await c.call('CLUSTER', 'NODES')));
      } catch {
        // try the next node
      } finally {
        c.disconnect();
      }
    }
    throw new Error('no cluster node answers');
  };
  let lastStateError = '';
  const stateOk = async (port: number) => {
    const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, ...conn });
    c.on('error', () => {});
    try {
      return /cluster_state:ok/.test(String(await c.call('CLUSTER', 'INFO')));
    } catch (err) {
      lastStateError = (err as Error).message;
      return false;
    } finally {
      c.disconnect();
    }
  };
  const waitUntil = async (check: (t: NodeInfo[]) => boolean = () => true, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const oks = await Promise.all(live().map((n) => stateOk(n.port)));
      if (oks.every(Boolean)) {
        const t = await topology();
        if (check(t)) return t;
      }
      if (Date.now() > deadline) {
        const states = live().map(
          (n, i) =>
            `${n.port}:${oks[i] ? 'ok' : 'not ok'}${n.proc.exitCode !== null || n.proc.signalCode !== null ? ` (exited ${n.proc.exitCode ?? n.proc.signalCode})` : ''}`,
        );
        let t: NodeInfo[] = [];
        try {
          t = await topology();
        } catch (err) {
          states.push(`CLUSTER NODES: ${(err as Error).message}`);
        }
        const view = t.map((n) => `${n.port} ${n.role}${n.alive ? '' : ' (failed)'} slots=${JSON.stringify(n.slots)}`);
        throw new Error(
          `cluster not ok within ${timeoutMs} ms: ${states.join(' ')} (last error: ${lastStateError})\n${view.join('\n')}`,
        );
      }
      await sleep(100);
    }
  };
  // Every node agrees on every master and replica (startClusterNodes saw every replica synced).
  try {
    await waitUntil(
      (t) =>
        t.length === nodes.length && t.filter((n) => n.role === 'master').length === masters && t.every((n) => n.alive),
    );
  } catch (err) {
    await started.stop();
    throw err;
  }

  return {
    nodes,
    seeds: (ports = nodes.map((n) => n.port)) => ports.map((p) => nodeUrl(opts, p)).join(','),
    client() {
      const c = new Cluster(
        live().map((n) => ({ host: '127.0.0.1', port: n.port })),
        {
          redisOptions: { maxRetriesPerRequest: null, ...conn },
          clusterRetryStrategy: (t) => Math.min(t * 100, 1_000),
        },
      );
      c.on('error', () => {});
      c.on('node error', () => {});
      clients.push(c);
      return c;
    },
    nodeClient,
    topology,
    async ownerOf(key) {
      const n = live()[0]!;
      const c = nodeClient(n.port);
      const slot = Number(await c.call('CLUSTER', 'KEYSLOT', key));
      const owner = (await topology()).find(
        (x) => x.role === 'master' && x.alive && x.slots.some(([a, b]) => slot >= a && slot <= b),
      );
      if (!owner) throw new Error(`no live master owns slot ${slot} of ${key}`);
      return owner;
    },
    async kill(port) {
      const n = nodes.find((x) => x.port === port);
      if (!n) return;
      dead.add(port);
      await killNode(n);
    },
    waitUntil,
    async close() {
      for (const c of clients) c.disconnect();
      await started.stop();
    },
  };
}

/** One cluster for the calling test file (started in beforeAll, torn down in afterAll). */
export function useTestCluster(opts: ClusterOptions = {}): () => TestCluster {
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster(opts);
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });
  return () => {
    if (!cluster) throw new Error('the test cluster is not started');
    return cluster;
  };
}

/**
 * A redis-server in cluster mode owning every slot: it refuses (CROSSSLOT) any MULTI, script or
 * multi-key command whose keys are not in one slot, as a real cluster does, without MOVED.
 */
export async function singleNodeCluster(ownRedis: UseTestRedis['ownRedis']): Promise<{ url: string }> {
  // A node that never met another does not know its own address (CLUSTER SLOTS gives ""): the
  // cluster client needs one to route to.
  const r = await ownRedis({ extraArgs: ['--cluster-enabled', 'yes', '--cluster-announce-ip', '127.0.0.1'] });
  const c = r.client();
  await c.call('CLUSTER', 'ADDSLOTSRANGE', '0', String(SLOTS - 1));
  await waitUntil('cluster_state:ok', async () => String(await c.call('CLUSTER', 'INFO')).includes('cluster_state:ok'));
  // What makes a run on it a check: keys of two slots in one script are refused.
  await expect(c.eval("return redis.call('MGET', KEYS[1], KEYS[2])", 2, 'a', 'b')).rejects.toThrow(/CROSSSLOT/);
  return r;
}
