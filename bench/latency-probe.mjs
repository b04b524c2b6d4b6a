// Where one delivery's latency goes, stage by stage, at a steady rate (issue 23, goal 4).
// `node bench/latency-probe.mjs [--rate 1000] [--seconds 10] [--warm 3] [--env K=V]...`
// Starts a private redis-server, the bench receiver, one bridge and one worker (as
// pipeline-latency does), publishes at the rate for a warm-up and then the measured stretch, and
// splits each measured delivery from BullMQ's own timestamps: XADD → job added (bridge: read,
// plan, commit), added → taken by the worker (queue wait), taken → at the receiver (worker: checks,
// signing, POST). Completed jobs are kept for the probe only (WSS_KEEP_COMPLETED_COUNT).
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { redisClient, startRedis } from './lib/env.mjs';
import { startReceiverProcess } from './lib/receiver-client.mjs';
import { loadStream, paddedData, publishPaced, waitForDeliveries, writeTenantsFile, PREFIX } from './lib/service.mjs';
import { startPipeline, stopAll } from './scenarios/pipeline.mjs';
import { latencySummary } from './lib/stats.mjs';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    warm: { type: 'string', default: '3' },
    env: { type: 'string', multiple: true },
  },
});
const rate = Number(values.rate);
const env = Object.fromEntries(
  (values.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const runDir = mkdtempSync(join(os.tmpdir(), 'wss-probe-'));
const redis = await startRedis();
const receiver = await startReceiverProcess();
const ctx = { redis, receiver, runDir, profile: new Set(), childEnv: {}, log: () => {} };
const [port] = await receiver.listen('probe');
const tenantsFile = writeTenantsFile(runDir, 'probe', [
  { id: 'bench', endpoints: [{ id: 'ep1', url: `http://127.0.0.1:${port}/hook` }] },
]);
const procs = await startPipeline(ctx, 'probe', tenantsFile, undefined, {
  WSS_KEEP_COMPLETED_COUNT: '1000000',
  ...env,
});
const pub = redisClient(redis.url);
// publishPaced's ids are L<ms>-<n>; the warm-up's get a w so the two runs' ids differ.
const fields = (tag) => (i, id) => ({ tenant: 'bench', type: 'order.updated', data: paddedData(i), id: `${id}${tag}` });
// Started and connected first (as pipeline-latency's warm-up does), then the paced warm-up.
await loadStream(pub, 200, (i) => ({ tenant: 'bench', type: 'order.updated', data: paddedData(i), id: `S-${i}` }));
await waitForDeliveries(receiver, 'probe', 200, { timeoutMs: 60_000, procs });
await receiver.reset();
const warm = await publishPaced(pub, {
  ratePerSec: rate,
  durationMs: Number(values.warm) * 1000,
  fieldsFor: fields('w'),
});
await waitForDeliveries(receiver, 'probe', warm, { timeoutMs: 60_000, procs });
// The warm-up's own latencies by half second of arrival: a freshly started pair's transient.
const warmLat = (await receiver.stats(true))['probe']?.latencies ?? [];
const halves = [];
for (let i = 0; i < warmLat.length; i += rate / 2) {
  const s = latencySummary(warmLat.slice(i, i + rate / 2));
  halves.push(`${s.p50.toFixed(0)}/${s.max.toFixed(0)}`);
}
await receiver.reset();
const sent = await publishPaced(pub, {
  ratePerSec: rate,
  durationMs: Number(values.seconds) * 1000,
  fieldsFor: fields(''),
});
const got = await waitForDeliveries(receiver, 'probe', sent, { timeoutMs: 60_000, procs });
const lat = latencySummary((await receiver.stats(true))['probe']?.latencies ?? []);
await stopAll(procs);

// Every job hash of the run: its event id carries the XADD time (L<ms>-<n>).
const stages = { bridge: [], queue: [], worker: [], settle: [] };
let scanned = 0;
for (let cursor = '0'; ;) {
  const [next, keys] = await pub.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 5000);
  const hashes = [];
  for (const k of keys) if ((await pub.type(k)) === 'hash') hashes.push(k);
  const p = pub.pipeline();
  for (const k of hashes) p.hmget(k, 'timestamp', 'processedOn', 'finishedOn', 'data');
  for (const [, r] of (await p.exec()) ?? []) {
    const [ts, on, fin, data] = r ?? [];
    const m = data && /"eventId":"L([\d.]+)-\d+"/.exec(data);
    if (!m || !ts || !on) continue;
    scanned++;
    const xadd = Number(m[1]);
    stages.bridge.push(Number(ts) - xadd);
    stages.queue.push(Number(on) - Number(ts));
    if (fin) stages.settle.push(Number(fin) - Number(on));
  }
  cursor = next;
  if (cursor === '0') break;
}
const fmt = (s) =>
  `p50 ${s.p50.toFixed(1)} · p95 ${s.p95.toFixed(1)} · p99 ${s.p99.toFixed(1)} · max ${s.max.toFixed(1)}`;
process.stdout.write(
  `rate ${rate}/s for ${values.seconds} s after ${values.warm} s warm-up · load ${os.loadavg()[0].toFixed(2)} · ${got.distinct}/${sent} delivered, ${scanned} jobs read\n`,
);
process.stdout.write(`warm-up, p50/max ms per half second: ${halves.join(' ')}\n`);
process.stdout.write(`XADD → receiver       ${fmt(lat)}\n`);
process.stdout.write(`XADD → job added      ${fmt(latencySummary(stages.bridge))}\n`);
process.stdout.write(`added → worker took   ${fmt(latencySummary(stages.queue))}\n`);
process.stdout.write(`took → completed      ${fmt(latencySummary(stages.settle))}\n`);
pub.disconnect();
await receiver.close();
await redis.close();
if (!process.env.PROBE_KEEP) rmSync(runDir, { recursive: true, force: true });
else process.stdout.write(`logs: ${runDir}\n`);
process.exit(0);
