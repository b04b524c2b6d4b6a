// `npm run bench [-- --only a,b] [--quick] [--profile worker,bridge] [--out file.json]`
// Starts a private redis-server and a receiver process, runs the scenarios of issue 4 against
// the built service (dist/), prints a table and writes bench/results/latest.json.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
if (!existsSync(here('../dist/cli.js'))) {
  process.stderr.write('bench: dist/ is missing; run `npm run build` first (npm run bench does it for you)\n');
  process.exit(1);
}

const { machineFacts, startRedis } = await import('./lib/env.mjs');
const { startReceiverProcess } = await import('./lib/receiver-client.mjs');
const { formatTable, verdicts } = await import('./lib/report.mjs');
const { stopStragglers } = await import('./lib/service.mjs');
const { httpCeiling, queueCeiling } = await import('./scenarios/ceilings.mjs');
const { pipelineThroughput } = await import('./scenarios/pipeline.mjs');
const { pipelineLatency } = await import('./scenarios/latency.mjs');
const { fanOut, fanOutFiltered } = await import('./scenarios/fan-out.mjs');
const { expressionCost } = await import('./scenarios/expression-cost.mjs');
const { backlogMemory } = await import('./scenarios/backlog.mjs');
const { slowEndpoint } = await import('./scenarios/slow-endpoint.mjs');
const { bridgeRecovery, pipelineFsync } = await import('./scenarios/durability.mjs');
const { signing } = await import('./scenarios/signing.mjs');
const { noisyNeighbour } = await import('./scenarios/noisy-neighbour.mjs');
const { limiterCost } = await import('./scenarios/limiter-cost.mjs');
const { registryScale } = await import('./scenarios/registry-scale.mjs');
const { streamRetention } = await import('./scenarios/stream-retention.mjs');
const { historyCost } = await import('./scenarios/history-cost.mjs');
const { cluster, clusterWait } = await import('./scenarios/cluster.mjs');
const { sourceThroughput } = await import('./scenarios/source-throughput.mjs');
const { otelSpanCost, pipelineThroughputOtel } = await import('./scenarios/otel.mjs');
const { ordered } = await import('./scenarios/ordered.mjs');

const SCENARIOS = {
  'http-ceiling': httpCeiling,
  'queue-ceiling': queueCeiling,
  // `bracket`: the ceilings measured again right after it (pipeline.mjs).
  'pipeline-throughput': (ctx) => pipelineThroughput(ctx, { bracket: true }),
  'pipeline-throughput-sw': (ctx) => pipelineThroughput(ctx, { scheme: 'standard-webhooks' }),
  'pipeline-throughput-limits': (ctx) => pipelineThroughput(ctx, { limits: true }),
  // Issue 23: the same run with hold-back off, to show what hold-back costs (or not) there.
  'pipeline-throughput-nohold': (ctx) =>
    pipelineThroughput(ctx, {
      env: { WSS_HOLD_AFTER: '0' },
      label: 'pipe-nohold',
      scenario: 'throughput-nohold',
      versus: 'hold-back off (WSS_HOLD_AFTER=0)',
    }),
  'pipeline-throughput-otel': pipelineThroughputOtel,
  'otel-span-cost': otelSpanCost,
  'pipeline-latency': pipelineLatency,
  'fan-out': fanOut,
  'fan-out-filter': fanOutFiltered,
  'expression-cost': expressionCost,
  'backlog-memory': backlogMemory,
  'slow-endpoint': slowEndpoint,
  'noisy-neighbour': noisyNeighbour,
  'noisy-neighbour-stream': (ctx) => noisyNeighbour(ctx, { inStream: true }),
  'pipeline-fsync': pipelineFsync,
  'bridge-recovery': bridgeRecovery,
  signing,
  'limiter-cost': limiterCost,
  'registry-scale': registryScale,
  'stream-retention': streamRetention,
  'history-cost': historyCost,
  cluster,
  'cluster-1w': (ctx) => cluster(ctx, { workers: 1 }),
  'cluster-wait': clusterWait,
  'source-throughput': sourceThroughput,
  ordered,
};

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    profile: { type: 'string' },
    out: { type: 'string' },
    'keep-logs': { type: 'boolean', default: false },
    env: { type: 'string', multiple: true },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(
    `npm run bench -- [--only ${Object.keys(SCENARIOS).join(',')}] [--quick] [--profile worker,bridge] [--env KEY=VALUE]... [--out FILE] [--keep-logs]\n`,
  );
  process.exit(0);
}
const selected = values.only
  ? values.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  : Object.keys(SCENARIOS);
const unknown = selected.filter((s) => !(s in SCENARIOS));
if (unknown.length) {
  process.stderr.write(
    `bench: unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}\n`,
  );
  process.exit(2);
}

const runDir = mkdtempSync(join(os.tmpdir(), 'wss-bench-'));
const profileDir = values.profile ? here('./results/profiles') : undefined;
if (profileDir) mkdirSync(profileDir, { recursive: true });
const redis = await startRedis();
const receiver = await startReceiverProcess();
const results = [];
const cleanup = async () => {
  await receiver.close();
  await redis.close();
  // A failed scenario's logs are kept: they name the cause.
  if (!values['keep-logs'] && !results.some((r) => r.error)) rmSync(runDir, { recursive: true, force: true });
};
process.once('SIGINT', () => cleanup().finally(() => process.exit(130)));

const facts = await machineFacts(redis);
// --env KEY=VALUE: extra environment for the bridge/worker processes (experiments).
const childEnv = Object.fromEntries(
  (values.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const mode = values.quick ? 'quick (smoke: small N, 1 run each)' : 'full';
const busy = facts.loadAverage[0] >= 0.5;
process.stdout.write(
  `webhook-sender bench · ${mode}\n` +
    `machine: ${facts.cores} cores (${facts.cpuModel}), ${facts.memoryGb} GB · load average at start ${facts.loadAverage.join(' ')}${busy ? ' (BUSY: figures are indicative only)' : ''}\n` +
    `node ${facts.node} · redis ${facts.redis} · bullmq ${facts.bullmq} · undici ${facts.undici} · ioredis ${facts.ioredis}\n` +
    (Object.keys(childEnv).length ? `extra env for bridge/worker: ${JSON.stringify(childEnv)}\n` : '') +
    `logs: ${runDir}${values['keep-logs'] ? '' : ' (removed at the end unless a scenario fails or --keep-logs)'}\n\n`,
);

const ctx = {
  redis,
  receiver,
  quick: values.quick,
  repeats: values.quick ? 1 : 3,
  runDir,
  profileDir,
  profile: new Set((values.profile ?? '').split(',').filter(Boolean)),
  childEnv,
  ceilings: {},
  log: (msg) => process.stdout.write(`  · ${msg}\n`),
};

const startedAt = new Date();
for (const name of selected) {
  const t0 = performance.now();
  process.stdout.write(`▶ ${name}\n`);
  await redis.client.flushall();
  await receiver.reset();
  try {
    const r = await SCENARIOS[name](ctx);
    results.push({
      scenario: name,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
      loadAverageBefore: os.loadavg()[0],
      ...r,
    });
  } catch (err) {
    results.push({ scenario: name, error: err instanceof Error ? err.message : String(err) });
    process.stdout.write(`  ✗ ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  const killed = await stopStragglers();
  if (killed) process.stdout.write(`  (killed ${killed} role process(es) the scenario left running)\n`);
  process.stdout.write(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

const table = formatTable(results);
const v = verdicts(results);
process.stdout.write(`\n${table}\n\n`);
process.stdout.write(
  `targets: ${v.filter((x) => x.pass).length} pass, ${v.filter((x) => !x.pass).length} miss · ${mode} · load average now ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}\n`,
);

const out = values.out ?? here('./results/latest.json');
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ startedAt: startedAt.toISOString(), mode: values.quick ? 'quick' : 'full', machine: facts, childEnv, loadAverageAtEnd: os.loadavg(), scenarios: results, targets: v, table }, null, 2)}\n`,
);
process.stdout.write(`results: ${out}\n`);
if (profileDir)
  process.stdout.write(`cpu profiles: ${profileDir} (summarise with: node bench/prof-top.mjs <file.cpuprofile>)\n`);
await cleanup();
process.exit(results.some((r) => r.error) ? 1 : 0);
