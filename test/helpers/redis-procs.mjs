// redis-server processes for the tests and the bench, written once: a free port, one server in a
// temp dir, and a local Redis Cluster (cluster-enabled nodes on free ports joined by `redis-cli
// --cluster create`). Plain JavaScript, so the bench (plain Node) and the tests (vitest) import
// the same file; test/helpers/redis-server.ts and redis-cluster.ts add what the tests need (TLS
// nodes, topology, failover), bench/lib/env.mjs and cluster.mjs what the bench needs (its Redis
// tuning, CPU per node). Types: redis-procs.d.mts.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// The tests register a hook that tracks every process they start (test/helpers/children.ts), so
// an interrupted run kills them; the bench keeps the identity.
let onSpawn = (proc) => proc;
export function trackSpawns(hook) {
  onSpawn = hook;
}

export function spawnRedisServer(port, dir, args = [], appendonly = false) {
  const proc = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', appendonly ? 'yes' : 'no'],
      ...['--dir', dir, '--maxmemory-policy', 'noeviction'],
      ...args,
    ],
    { stdio: 'ignore' },
  );
  proc.on('error', (err) => {
    throw new Error(`cannot start redis-server (is it installed? apt-get install redis-server): ${err.message}`);
  });
  return onSpawn(proc);
}

async function answersPing(port, conn) {
  const c = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...conn,
  });
  c.on('error', () => {});
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

export async function waitForPing(port, proc, conn = {}, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await answersPing(port, conn))) {
    if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function exited(proc) {
  return proc.exitCode !== null || proc.signalCode !== null;
}

/** kill -9, resolved once the process is gone. */
export async function killNode(node) {
  if (exited(node.proc)) return;
  const gone = new Promise((resolve) => node.proc.once('exit', resolve));
  node.proc.kill('SIGKILL');
  await gone;
}

async function startNode(opts) {
  const port = await freePort();
  // The bus port defaults to port + 10000, which may be taken or past 65535: pick one too.
  let busPort = await freePort();
  while (busPort === port) busPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), opts.tmpPrefix ?? 'wss-cluster-'));
  const proc = spawnRedisServer(port, dir, [
    ...['--cluster-enabled', 'yes', '--cluster-port', String(busPort)],
    ...['--cluster-config-file', join(dir, 'nodes.conf')],
    ...['--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 1_000)],
    ...(opts.nodeArgs?.(port) ?? []),
  ]);
  const node = { port, dir, proc };
  opts.onSpawn?.(node);
  try {
    await waitForPing(port, proc, opts.conn);
  } catch (err) {
    await killNode(node);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return node;
}

/** What a node answers to `args`, or the error's message; over a connection of its own. */
async function ask(port, conn, ...args) {
  const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, ...conn });
  c.on('error', () => {});
  try {
    return String(await c.call(...args));
  } catch (err) {
    return `error: ${err.message}`;
  } finally {
    c.disconnect();
  }
}

/**
 * `masters` × (1 + `replicas`) nodes, joined into one cluster; resolves once every node reports
 * cluster_state:ok and every replica has finished its first sync (one still syncing when its
 * master dies has nothing to take over with). A failure on the way stops every node it started.
 */
export async function startClusterNodes(opts = {}) {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 0;
  const conn = opts.conn ?? {};
  const nodes = [];
  const stop = async () => {
    await Promise.all(nodes.map(killNode));
    for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
  };
  try {
    const started = await Promise.allSettled(Array.from({ length: masters * (1 + replicas) }, () => startNode(opts)));
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const create = spawnSync(
      'redis-cli',
      [
        ...['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`)],
        ...['--cluster-replicas', String(replicas), '--cluster-yes', ...(opts.cliArgs ?? [])],
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const states = await Promise.all(
        nodes.map(async (n) => {
          if (!/cluster_state:ok/.test(await ask(n.port, conn, 'CLUSTER', 'INFO'))) return 'cluster_state not ok';
          const info = await ask(n.port, conn, 'INFO', 'replication');
          return /role:slave/.test(info) && !/master_link_status:up/.test(info) ? 'replica not synced' : 'ok';
        }),
      );
      if (states.every((s) => s === 'ok')) return { nodes, stop };
      if (Date.now() > deadline)
        throw new Error(`cluster not ready within 30 s: ${nodes.map((n, i) => `${n.port}: ${states[i]}`).join(', ')}`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
}
