// The pipeline on a local 3-master Redis Cluster (issue 11): one bridge and two workers as
// processes, REDIS_CLUSTER_NODES set. Deliveries/s, and each node's Redis CPU (INFO CPU deltas)
// per 1,000 deliveries; whether the work spreads (the busiest node's share of all Redis CPU)
// and what the cluster client costs (throughput vs the single-Redis pipeline-throughput of the
// same run).
import { startCluster } from '../lib/cluster.mjs';
import { STREAM, loadStream, paddedData, spawnRole, waitForDeliveries, writeTenantsFile } from '../lib/service.mjs';
import { ratePerSec, round } from '../lib/stats.mjs';

const BUSIEST_SHARE_MAX = 0.45;
const VS_SINGLE_MIN = 0.8;
// 48 endpoints fall 17 / 14 / 17 over 3 shards (sha1 of tenant/endpoint): an even spread, as
// many endpoints give.
const ENDPOINTS = 48;

/**
 * The key layout: one delivery queue per master (WSS_SHARDS=3, each under a hash tag in its own
 * master's slot range), the stream on whichever node owns it. `--env WSS_SHARDS=1 --env
 * WSS_PREFIX={bench}` measures the one-slot layout instead (every queue key on one node).
 */
export const CLUSTER_LAYOUT = { WSS_SHARDS: '3' };

/** One bridge and `workers` workers (two by default), each worker on every shard (the default). */
const rolesWith = (workers = 2) => [
  ['bridge', 'bench-bridge', {}],
  ...Array.from({ length: workers }, (_, i) => ['worker', `bench-worker-${i + 1}`, {}]),
];
const ROLES = rolesWith();

/** `opts.workers`: how many worker processes (2 by default; 1 separates the cluster's cost from the second process's). */
export async function cluster(ctx, opts = {}) {
  const roles = rolesWith(opts.workers);
  const n = ctx.quick ? 5_000 : 50_000;
  const c = await startCluster(3);
  const procs = [];
  try {
    const [port] = await ctx.receiver.listen('cluster');
    // Several endpoints, so a sharded layout has endpoints to spread; event type t<i> goes to
    // endpoint ep<i> only, so deliveries = events.
    const endpoints = Array.from({ length: ENDPOINTS }, (_, i) => ({
      id: `ep${i}`,
      url: `http://127.0.0.1:${port}/hook${i}`,
      events: [`t${i}`],
    }));
    const tenantsFile = writeTenantsFile(ctx.runDir, 'cluster', [{ id: 'bench', endpoints }]);
    ctx.log(
      `3-master cluster up (${c.nodes.map((x) => x.port).join(', ')}); layout ${JSON.stringify({ ...CLUSTER_LAYOUT, ...ctx.childEnv })}`,
    );
    ctx.log(`loading ${n} events (${ENDPOINTS} endpoints, each event to one of them)`);
    await loadStream(c.client, n, (i) => ({ tenant: 'bench', type: `t${i % ENDPOINTS}`, data: paddedData(i) }));

    const cpu0 = await c.cpu();
    const env = { ...CLUSTER_LAYOUT, ...ctx.childEnv, REDIS_CLUSTER_NODES: c.seeds };
    for (const [role, consumer, extra] of roles)
      procs.push(
        spawnRole(role, {
          redisUrl: c.nodes[0].url,
          tenantsFile,
          logDir: ctx.runDir,
          scenario: `cluster${opts.workers ? `-${opts.workers}w` : ''}-${consumer}`,
          // --profile worker,bridge: one .cpuprofile per process (named after its consumer).
          profileDir: ctx.profile.has(role) ? ctx.profileDir : undefined,
          env: { ...env, WSS_CONSUMER: consumer, ...extra },
        }),
      );
    const got = await waitForDeliveries(ctx.receiver, 'cluster', n, { timeoutMs: ctx.quick ? 60_000 : 180_000, procs });
    const cpu1 = await c.cpu();
    const roleCpu = { bridge: 0, worker: 0 };
    for (const p of procs) roleCpu[p.role] += (await p.stop()).cpuSeconds;

    const perSec = ratePerSec(got.distinct, got.firstAt, got.lastAt);
    const perNode = c.nodes.map((x) => ({ port: x.port, cpuSeconds: cpu1[x.port] - cpu0[x.port] }));
    const total = perNode.reduce((s, x) => s + x.cpuSeconds, 0);
    const busiest = Math.max(...perNode.map((x) => x.cpuSeconds)) / total;
    const per1k = (s) => round((s * 1000) / got.distinct, 3);
    const streamNode = await c.ownerOf(STREAM);
    const single = ctx.pipelineXwssPerSec;
    const rows = [
      {
        metric: `deliveries/s first→last (${got.distinct} of ${n}${got.timedOut ? ', TIMED OUT' : ''}; 1 bridge, ${roles.length - 1} worker${roles.length > 2 ? 's' : ''})`,
        value: perSec,
      },
      {
        metric: 'CPU s per 1k deliveries: workers (all) / bridge',
        value: `${per1k(roleCpu.worker)} / ${per1k(roleCpu.bridge)}`,
      },
      {
        metric: 'Redis CPU s per 1k deliveries, by node (* owns the stream) / all',
        value: `${perNode.map((x) => `${per1k(x.cpuSeconds)}${x.port === streamNode ? '*' : ''}`).join(' / ')} / ${per1k(total)}`,
      },
      {
        metric: 'busiest node share of all Redis CPU',
        value: busiest,
        digits: 2,
        target: `≤ ${BUSIEST_SHARE_MAX}`,
        pass: busiest <= BUSIEST_SHARE_MAX,
      },
      single
        ? {
            metric: `vs single-Redis pipeline-throughput of this run (${Math.round(single).toLocaleString('en-US')}/s)`,
            value: perSec / single,
            digits: 2,
            target: `≥ ${VS_SINGLE_MIN}`,
            pass: perSec / single >= VS_SINGLE_MIN && !got.timedOut,
          }
        : { metric: 'vs single-Redis pipeline-throughput', value: 'n/a (run pipeline-throughput in the same run)' },
    ];
    return {
      data: {
        events: n,
        delivered: got.distinct,
        duplicates: got.requests - got.distinct,
        timedOut: got.timedOut,
        layout: { ...CLUSTER_LAYOUT, ...ctx.childEnv },
        deliveriesPerSec: round(perSec),
        redisCpuSecondsPer1kByNode: Object.fromEntries(perNode.map((x) => [x.port, per1k(x.cpuSeconds)])),
        redisCpuSecondsPer1k: per1k(total),
        cpuSecondsPer1k: { workers: per1k(roleCpu.worker), bridge: per1k(roleCpu.bridge) },
        streamNode,
        busiestShare: round(busiest, 3),
        vsSingle: single ? round(perSec / single, 3) : undefined,
      },
      rows,
    };
  } finally {
    for (const p of procs) if (!p.exited()) await p.stop();
    await c.close();
  }
}

/**
 * WSS_WAIT_REPLICAS' cost: the same pipeline on 3 masters with one replica each, once with
 * WSS_WAIT_REPLICAS=0 and once with 1 (the bridge WAITs on each master before every XACK).
 */
export async function clusterWait(ctx) {
  const n = ctx.quick ? 5_000 : 30_000;
  const c = await startCluster(3, 1);
  const figures = {};
  try {
    const [port] = await ctx.receiver.listen('cluster-wait');
    const endpoints = Array.from({ length: ENDPOINTS }, (_, i) => ({
      id: `ep${i}`,
      url: `http://127.0.0.1:${port}/hook${i}`,
      events: [`t${i}`],
    }));
    const tenantsFile = writeTenantsFile(ctx.runDir, 'cluster-wait', [{ id: 'bench', endpoints }]);
    for (const wait of ['0', '1']) {
      await ctx.receiver.reset();
      // A fresh stream and group (a new prefix too) per run; events are numbered per run.
      await c.client.del(STREAM);
      const layout = { ...CLUSTER_LAYOUT, WSS_PREFIX: `bench${wait}` };
      await loadStream(c.client, n, (i) => ({ tenant: 'bench', type: `t${i % ENDPOINTS}`, data: paddedData(i) }));
      const env = { ...layout, ...ctx.childEnv, REDIS_CLUSTER_NODES: c.seeds, WSS_WAIT_REPLICAS: wait };
      const procs = ROLES.map(([role, consumer, extra]) =>
        spawnRole(role, {
          redisUrl: c.nodes[0].url,
          tenantsFile,
          logDir: ctx.runDir,
          scenario: `cluster-wait${wait}-${consumer}`,
          profileDir: ctx.profile.has(role) ? ctx.profileDir : undefined,
          env: { ...env, WSS_CONSUMER: consumer, WSS_GROUP: `bench-wait${wait}`, ...extra },
        }),
      );
      try {
        const got = await waitForDeliveries(ctx.receiver, 'cluster-wait', n, {
          timeoutMs: ctx.quick ? 60_000 : 180_000,
          procs,
        });
        figures[wait] = { perSec: ratePerSec(got.distinct, got.firstAt, got.lastAt), got };
      } finally {
        for (const p of procs) await p.stop();
      }
    }
  } finally {
    await c.close();
  }
  const [off, on] = [figures['0'], figures['1']];
  const vs = on.perSec / off.perSec;
  return {
    data: {
      events: n,
      deliveriesPerSec: { wait0: round(off.perSec), wait1: round(on.perSec) },
      timedOut: off.got.timedOut || on.got.timedOut,
      vsWithout: round(vs, 3),
    },
    rows: [
      {
        metric: `deliveries/s, 3 masters + 3 replicas: WSS_WAIT_REPLICAS=0 / =1 (${n} events each)`,
        value: `${Math.round(off.perSec).toLocaleString('en-US')} / ${Math.round(on.perSec).toLocaleString('en-US')}`,
      },
      { metric: 'with WAIT vs without', value: vs, digits: 2 },
    ],
  };
}
