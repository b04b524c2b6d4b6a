// The registry at 100,000 endpoints (10,000 tenants × 10; issue 11, docs/registry.md):
// 1. start-up of a real `wss start --role worker` (spawn → /readyz answers 200) and its RSS,
//    against the same worker on an empty registry;
// 2. two replicas (the Registry class, each in its own child process: bench/lib/registry-
//    replica.mjs) load in full, then follow one-endpoint changes written through the normal
//    write path (Registry.updateEndpoint, as the admin API, auto-disable and rotation do): the
//    CPU of each catch-up in each process (process.cpuUsage around it);
// 3. the bridge's fan-out planning (dist/producers/plan-batch.js) per event, over the 100,000-
//    endpoint snapshot, 10 endpoints per tenant.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, memoryMb, sleep, waitUntil } from '../lib/env.mjs';
import { PREFIX, SECRET, spawnRole, writeTenantsFile } from '../lib/service.mjs';
import { median, percentile, round } from '../lib/stats.mjs';

const APPLY_TARGET_MS = 5;
const REPLICA = fileURLToPath(new URL('../lib/registry-replica.mjs', import.meta.url));

async function seedBulk(redis, prefix, tenants, perTenant) {
  const { registryKeys } = await import('../../dist/tenants/registry-log.js');
  const { encodeEndpoint } = await import('../../dist/signing/stored-secrets.js');
  const { parseEndpoint } = await import('../../dist/tenants/schema.js');
  const keys = registryKeys(prefix);
  const template = parseEndpoint({ id: 'e0', url: 'https://hooks.example/h', secret: SECRET, events: ['order.*'] });
  const now = Date.now();
  for (let from = 0; from < tenants; from += 500) {
    const p = redis.pipeline();
    for (let i = from; i < Math.min(from + 500, tenants); i++) {
      const t = `t${i}`;
      p.hset(keys.tenants, t, JSON.stringify({ id: t }));
      const flat = [];
      for (let e = 0; e < perTenant; e++) {
        const ep = { ...template, id: `e${e}`, url: `https://hooks.example/${t}/${e}` };
        flat.push(`${t}/e${e}`, encodeEndpoint(ep, `${t}/e${e}`, undefined, now));
      }
      p.hset(keys.endpoints, ...flat);
    }
    await p.exec();
  }
  await redis.incr(keys.version);
}

/** Spawn → /readyz 200, then RSS after a short settle. */
async function workerStartup(ctx, label, env) {
  const port = await freePort();
  const t0 = performance.now();
  const worker = spawnRole('worker', {
    redisUrl: ctx.redis.url,
    tenantsFile: writeTenantsFile(ctx.runDir, `registry-scale-${label}`, [
      { id: 'probe', endpoints: [{ id: 'hook', url: 'http://127.0.0.1:9/hook' }] },
    ]),
    logDir: ctx.runDir,
    scenario: `registry-scale-${label}`,
    env: { WSS_HEALTH_PORT: String(port), ...env },
  });
  try {
    await waitUntil(
      () =>
        fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        ),
      { timeoutMs: 120_000, everyMs: 10, what: `the ${label} worker to be ready` },
    );
    const startupMs = performance.now() - t0;
    await sleep(1_000);
    return { startupMs, rssMb: memoryMb(worker.pid)?.rssMb ?? NaN };
  } finally {
    await worker.stop();
  }
}

function startReplica(ctx) {
  const child = fork(REPLICA, [ctx.redis.url, PREFIX], { execArgv: ['--expose-gc'], stdio: 'ignore' });
  const replies = [];
  let waiting;
  child.on('message', (m) => (waiting ? (waiting(m), (waiting = undefined)) : replies.push(m)));
  const next = () => (replies.length ? Promise.resolve(replies.shift()) : new Promise((r) => (waiting = r)));
  return {
    ready: next(),
    apply: () => (child.send('apply'), next()),
    stop: () => child.send('stop'),
    kill: () => child.kill('SIGKILL'),
  };
}

export async function registryScale(ctx) {
  const tenants = ctx.quick ? 1_000 : 10_000;
  const perTenant = 10;
  const endpoints = tenants * perTenant;
  const changes = ctx.quick ? 5 : 20;
  const redis = ctx.redis.client;

  const empty = await workerStartup(ctx, 'empty', { WSS_PREFIX: 'bench-empty' });
  const t0 = performance.now();
  await seedBulk(redis, PREFIX, tenants, perTenant);
  ctx.log(`seeded ${endpoints} endpoints with pipelines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const full = await workerStartup(ctx, 'full', {});
  ctx.log(
    `worker start-up: ${Math.round(empty.startupMs)} ms / ${round(empty.rssMb, 1)} MB empty, ${Math.round(full.startupMs)} ms / ${round(full.rssMb, 1)} MB with ${endpoints} endpoints`,
  );

  const { Registry } = await import('../../dist/tenants/registry.js');
  const replicas = [startReplica(ctx), startReplica(ctx)];
  const writer = new Registry(redis, PREFIX);
  const applyCpu = [[], []];
  let loads;
  try {
    loads = await Promise.all(replicas.map((r) => r.ready));
    await writer.refresh();
    for (let i = 0; i < changes; i++) {
      const tenant = `t${(i * 7919) % tenants}`;
      await writer.updateEndpoint(tenant, `e${i % perTenant}`, (ep) => ({ ...ep, enabled: !ep.enabled }));
      for (const [k, r] of replicas.entries()) {
        const reply = await r.apply();
        if (reply.stats.full.reloads !== 1 || reply.stats.incremental.endpoints !== i + 1)
          throw new Error(`replica ${k} did not catch up incrementally: ${JSON.stringify(reply.stats)}`);
        applyCpu[k].push(reply.cpuMs);
      }
    }
  } finally {
    replicas.forEach((r) => r.stop());
    await sleep(200);
    replicas.forEach((r) => r.kill());
  }
  const writerStats = writer.loadStats();

  // Fan-out planning over the big snapshot: events spread over every tenant, batches of 100.
  const { planBatch } = await import('../../dist/producers/plan-batch.js');
  const snap = writer.snapshot();
  const endpointsOf = (t) => snap.tenants.get(t)?.endpoints.values();
  const runner = {
    run: () => {
      throw new Error('no endpoint here has an expression');
    },
  };
  const opts = { dedupTtlMs: 60_000, keepCompleted: { count: 1_000, age: 3_600 } };
  const events = ctx.quick ? 2_000 : 20_000;
  const data = JSON.stringify({ orderId: 'o-1', status: 'shipped', pad: 'x'.repeat(160) });
  const batches = [];
  for (let i = 0; i < events; i += 100)
    batches.push(
      Array.from({ length: 100 }, (_, j) => ({
        id: `${i + j + 1}-0`,
        fields: { tenant: `t${((i + j) * 31) % tenants}`, type: 'order.updated', data, id: `ev-${i + j}` },
      })),
    );
  const planUs = [];
  let jobs = 0;
  for (let r = 0; r < ctx.repeats + 1; r++) {
    const u0 = process.cpuUsage();
    jobs = 0;
    for (const b of batches) jobs += (await planBatch(b, endpointsOf, opts, { runner })).jobs.length;
    const u = process.cpuUsage(u0);
    if (r > 0) planUs.push((u.user + u.system) / events); // the first run warms the JIT
  }
  // Half the changed endpoints are disabled at the end of the toggles: fewer jobs than 10 per event.
  if (jobs < events * (perTenant - 1)) throw new Error(`planned ${jobs} jobs for ${events} events`);

  const all = applyCpu.flat();
  const worst = Math.max(...all);
  const perReplica = applyCpu.map((xs) => round(median(xs), 2));
  const replicaLoad = loads.map((l) => ({
    loadMs: Math.round(l.loadMs),
    loadCpuMs: Math.round(l.loadCpuMs),
    rssMb: round(l.rssMb, 1),
    addedRssMb: round(l.addedRssMb, 1),
    addedHeapMb: round(l.addedHeapMb, 1),
  }));
  const bytesPerEndpoint = (median(loads.map((l) => l.addedRssMb)) * 1_048_576) / endpoints;
  const planPerEvent = median(planUs);
  return {
    data: {
      tenants,
      endpoints,
      worker: {
        empty: { startupMs: Math.round(empty.startupMs), rssMb: round(empty.rssMb, 1) },
        full: { startupMs: Math.round(full.startupMs), rssMb: round(full.rssMb, 1) },
      },
      replicas: replicaLoad,
      applyCpuMs: { perReplicaMedian: perReplica, p95: round(percentile(all, 95), 2), max: round(worst, 2), changes },
      writer: writerStats,
      planUsPerEvent: round(planPerEvent, 2),
    },
    rows: [
      {
        metric: `worker start-up to /readyz, ${endpoints.toLocaleString('en-US')} endpoints (empty registry)`,
        value: `${Math.round(full.startupMs)} ms (${Math.round(empty.startupMs)} ms)`,
      },
      {
        metric: `worker RSS after start, ${endpoints.toLocaleString('en-US')} endpoints (empty registry)`,
        value: `${round(full.rssMb, 1)} MB (${round(empty.rssMb, 1)} MB)`,
      },
      {
        metric: 'Registry full load in a replica process: wall ms / CPU ms / RSS added MB',
        value: `${replicaLoad[0].loadMs} / ${replicaLoad[0].loadCpuMs} / ${replicaLoad[0].addedRssMb}`,
      },
      { metric: 'RSS per endpoint (replica, after GC)', value: bytesPerEndpoint, unit: 'B' },
      {
        metric: `one-endpoint change: catch-up CPU per process, worst of ${changes} × 2 replicas`,
        value: worst,
        digits: 2,
        unit: 'ms',
        target: `≤ ${APPLY_TARGET_MS} ms`,
        pass: worst <= APPLY_TARGET_MS,
      },
      {
        metric: 'one-endpoint change: catch-up CPU per process, median (replica 1 / replica 2)',
        value: `${perReplica[0]} / ${perReplica[1]} ms`,
      },
      {
        metric: `bridge fan-out planning per event, ${perTenant} endpoints per tenant (${jobs} jobs / ${events} events)`,
        value: planPerEvent,
        digits: 1,
        unit: 'µs',
      },
    ],
  };
}
