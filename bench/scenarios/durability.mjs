// Durability trade-offs on the whole pipeline:
// - pipeline-fsync: throughput with Redis's AOF at appendfsync everysec (may lose the last
//   second of acknowledged writes on a host crash) against always (fsync before every reply);
// - bridge-recovery: a bridge killed with SIGKILL in the middle of a backlog, default consumer
//   names (a new one per process): how long until the next bridge has taken over its batch.
import { execFileSync } from 'node:child_process';
import { sleep, waitUntil } from '../lib/env.mjs';
import { GROUP, STREAM, groupProgress, loadStream, paddedData, spawnRole, writeTenantsFile } from '../lib/service.mjs';
import { latencySummary, median, round } from '../lib/stats.mjs';
import { mapRound, NO_HOLD, pipelineThroughput } from './pipeline.mjs';

const RECOVERY_TARGET_S = 10;

async function setAof(redis, fsync) {
  const c = redis.client;
  if (fsync === 'off') {
    await c.config('SET', 'appendonly', 'no');
    return;
  }
  await c.config('SET', 'appendfsync', fsync);
  await c.config('SET', 'appendonly', 'yes');
  // Turning AOF on rewrites it in the background first.
  await waitUntil(
    async () => {
      const p = await redis.info('persistence');
      return p['aof_enabled'] === '1' && p['aof_rewrite_in_progress'] === '0' && p['aof_rewrite_scheduled'] === '0';
    },
    { timeoutMs: 30_000, everyMs: 50, what: 'AOF enabled and rewritten' },
  );
}

function filesystemOf(dir) {
  try {
    return execFileSync('df', ['-T', dir], { encoding: 'utf8' }).trim().split('\n').at(-1).split(/\s+/)[1];
  } catch {
    return 'unknown';
  }
}

/** Round trips of `count` sequential XADDs (what a producer waiting for each reply sees), in µs. */
async function xaddRoundTrips(client, count) {
  const us = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await client.xadd('bench:fsync-probe', '*', 'n', String(i));
    us.push((performance.now() - t0) * 1000);
  }
  await client.del('bench:fsync-probe');
  return latencySummary(us);
}

export async function pipelineFsync(ctx) {
  const n = ctx.quick ? 3_000 : 20_000;
  const runs = ctx.quick ? 1 : 2;
  const dir = String((await ctx.redis.client.config('GET', 'dir'))[1]);
  const data = { events: n, redisDir: dir, filesystem: filesystemOf(dir), everysec: [], always: [] };
  try {
    // Alternated, so a change in the machine's load hits both settings alike.
    for (let run = 0; run < runs; run++) {
      for (const fsync of ['everysec', 'always']) {
        await ctx.redis.client.flushall();
        await ctx.receiver.reset();
        await setAof(ctx.redis, fsync);
        ctx.log(`appendonly yes, appendfsync ${fsync} (run ${run + 1} of ${runs})`);
        const xadd = await xaddRoundTrips(ctx.redis.client, 2_000);
        const r = (
          await pipelineThroughput(ctx, { n, label: `fsync-${fsync}-${run}`, scenario: `fsync-${fsync}-${run}` })
        ).data;
        data[fsync].push({
          deliveriesPerSec: r.deliveriesPerSec,
          timedOut: r.timedOut,
          bridgeDoneAfterFirstDeliverySec: r.bridgeDoneAfterFirstDeliverySec,
          redisCpuSecondsPer1k: r.cost.redis.cpuSecondsPer1k,
          xaddRoundTripUs: mapRound(xadd, 0),
        });
      }
    }
  } finally {
    await setAof(ctx.redis, 'off');
    await ctx.redis.client.config('SET', 'appendfsync', 'everysec');
  }
  const med = (fsync, f) => median(data[fsync].map(f));
  const e = med('everysec', (r) => r.deliveriesPerSec);
  const a = med('always', (r) => r.deliveriesPerSec);
  const timedOut = [...data.everysec, ...data.always].some((r) => r.timedOut);
  const rtt = (fsync) => `${med(fsync, (r) => r.xaddRoundTripUs.p50)} / ${med(fsync, (r) => r.xaddRoundTripUs.p99)}`;
  return {
    data,
    rows: [
      {
        metric: `deliveries/s, AOF appendfsync everysec (${n} events, median of ${runs}, Redis dir on ${data.filesystem})${timedOut ? ', TIMED OUT' : ''}`,
        value: e,
      },
      { metric: 'deliveries/s, AOF appendfsync always', value: a },
      { metric: 'always / everysec', value: a / e, digits: 2 },
      { metric: 'one XADD round trip µs p50 / p99: everysec', value: rtt('everysec') },
      { metric: 'one XADD round trip µs p50 / p99: always', value: rtt('always') },
    ],
  };
}

async function consumerPending(client) {
  const out = new Map();
  try {
    for (const raw of await client.xinfo('CONSUMERS', STREAM, GROUP)) {
      const f = {};
      for (let i = 0; i + 1 < raw.length; i += 2) f[raw[i]] = raw[i + 1];
      out.set(String(f['name']), Number(f['pending']));
    }
  } catch {
    // no group yet
  }
  return out;
}

export async function bridgeRecovery(ctx) {
  const n = 5_000;
  const client = ctx.redis.client;
  // Ten endpoints: a batch of 500 entries is 5,000 jobs, so a kill lands while one is in hand.
  const endpoints = Array.from({ length: 10 }, (_, i) => ({ id: `ep${i}`, url: 'http://127.0.0.1:9/hook' }));
  const tenantsFile = writeTenantsFile(ctx.runDir, 'recovery', [{ id: 'bench', endpoints }]);
  await loadStream(client, n, (i) => ({ tenant: 'bench', type: 'order.updated', data: paddedData(i) }));
  // WSS_CONSUMER empty: the default, <hostname>-<pid>, a new consumer per process. No workers:
  // hold-back off (NO_HOLD), so the next bridge enqueues and acknowledges the whole batch.
  const env = { ...ctx.childEnv, WSS_CONSUMER: '', ...NO_HOLD };
  let dead;
  let held = 0;
  for (let attempt = 1; held === 0; attempt++) {
    if (attempt > 5) throw new Error('could not kill a bridge while it held a batch in 5 attempts');
    const first = spawnRole('bridge', {
      redisUrl: ctx.redis.url,
      tenantsFile,
      logDir: ctx.runDir,
      scenario: `recovery-${attempt}`,
      env,
    });
    // Kill it while it holds a batch (read, not acknowledged), after it has made some progress.
    await waitUntil(
      async () => {
        const pending = await consumerPending(client);
        const { acked } = await groupProgress(client);
        dead = [...pending].find(([, count]) => count > 0 && acked > 0)?.[0];
        return dead !== undefined;
      },
      { timeoutMs: 30_000, everyMs: 5, what: 'a bridge to hold a batch' },
    );
    process.kill(first.pid, 'SIGKILL');
    await waitUntil(() => first.exited(), { timeoutMs: 10_000, what: 'the bridge to die' });
    held = (await consumerPending(client)).get(dead) ?? 0;
  }
  const heldIds = new Set((await client.xpending(STREAM, GROUP, '-', '+', held, dead)).map((p) => p[0]));
  const stillPending = async () =>
    (await client.xpending(STREAM, GROUP, '-', '+', n)).filter((p) => heldIds.has(p[0])).length;

  const t0 = performance.now();
  const second = spawnRole('bridge', {
    redisUrl: ctx.redis.url,
    tenantsFile,
    logDir: ctx.runDir,
    scenario: 'recovery-next',
    env,
  });
  let seconds;
  try {
    await waitUntil(async () => (await stillPending()) === 0, {
      timeoutMs: 120_000,
      everyMs: 20,
      what: "the dead bridge's batch to be enqueued and acknowledged",
    });
    seconds = (performance.now() - t0) / 1000;
  } finally {
    await sleep(100);
    await second.stop();
  }
  return {
    data: { events: n, endpoints: endpoints.length, heldAtKill: held, takeoverSeconds: round(seconds, 2) },
    rows: [
      {
        metric: `SIGKILLed bridge's batch (${held} entries) enqueued + acknowledged, from the next bridge's spawn (default WSS_CONSUMER)`,
        value: seconds,
        digits: 2,
        unit: 's',
        target: `≤ ${RECOVERY_TARGET_S} s`,
        pass: seconds <= RECOVERY_TARGET_S,
      },
    ],
  };
}
