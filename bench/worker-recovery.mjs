// `npm run build && node bench/worker-recovery.mjs [--runs 3] [--env KEY=VALUE]...`
// How long deliveries held by a worker that dies (kill -9) wait before another worker sends
// them, at the default lock and stalled-check settings (or those given with --env).
// Two worker processes share 40 jobs (20 events × 2 endpoints). The receiver holds every first
// request open, so each worker has jobs in flight; after a random 0–30 s one worker is killed
// with SIGKILL and the other's requests are answered. Measured per job the dead worker held:
// from the kill to the arrival of its redelivery at the receiver (answered 200 at once).
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { sleep, startRedis, waitUntil } from './lib/env.mjs';
import { PREFIX, QUEUE, spawnRole, stopStragglers, writeTenantsFile } from './lib/service.mjs';
import { deliveryJobId, deliveryJobOptions, JOB_NAME } from '../dist/queue/job.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, env: { type: 'string', multiple: true } },
  strict: true,
});
const runs = Number(values.runs);
const env = Object.fromEntries(
  (values.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const EVENTS = 20;
const ENDPOINTS = ['orders', 'billing'];

/** First request per job: held (until released or its connection dies). Later ones: 200 at once. */
async function startHoldingReceiver() {
  const seen = new Map(); // job key -> { first: { res, cut }, redeliveredAt }
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = `${req.url}|${req.headers['x-wss-event-id']}`;
      const entry = seen.get(key);
      if (!entry) {
        const first = { res, cut: false };
        res.on('close', () => {
          if (!res.writableFinished) first.cut = true;
        });
        seen.set(key, { first, redeliveredAt: undefined });
        return;
      }
      entry.redeliveredAt ??= performance.now();
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    seen,
    reset: () => seen.clear(),
    /** Answers every held first request whose connection is still open. */
    releaseLive() {
      for (const { first } of seen.values()) if (!first.cut && !first.res.writableEnded) first.res.writeHead(200).end();
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

const redis = await startRedis();
const receiver = await startHoldingReceiver();
const runDir = mkdtempSync(join(os.tmpdir(), 'wss-recovery-'));
const tenantsFile = writeTenantsFile(runDir, 'recovery', [
  {
    id: 'acme',
    endpoints: ENDPOINTS.map((id) => ({ id, url: `http://127.0.0.1:${receiver.port}/${id}`, timeoutMs: 120_000 })),
  },
]);
const queue = new Queue(QUEUE, { connection: { url: redis.url }, prefix: PREFIX });
process.stdout.write(
  `worker recovery after kill -9 · ${runs} run(s) · ${os.cpus().length} cores · load ${os.loadavg()[0].toFixed(2)}\n`,
);
process.stdout.write(
  `worker env: ${Object.keys(env).length ? JSON.stringify(env) : 'defaults (WSS_LOCK_DURATION_MS 30000, WSS_STALLED_INTERVAL_MS 30000)'}\n`,
);

const all = [];
try {
  for (let run = 1; run <= runs; run++) {
    await redis.client.flushall();
    receiver.reset();
    const opts = { redisUrl: redis.url, tenantsFile, logDir: runDir, scenario: `recovery-${run}`, env };
    const a = spawnRole('worker', { ...opts, env: { ...env, WSS_CONSUMER: 'a' } });
    const b = spawnRole('worker', { ...opts, scenario: `recovery-${run}-b`, env: { ...env, WSS_CONSUMER: 'b' } });
    await waitUntil(async () => (await queue.getWorkersCount()) === 2, { timeoutMs: 30_000, what: 'two workers' });
    const keep = { dedupTtlMs: 3_600_000, keepCompleted: { count: 1_000, age: 3_600 } };
    const jobs = [];
    for (let i = 0; i < EVENTS; i++) {
      for (const ep of ENDPOINTS) {
        const eventId = `r${run}-${i}`;
        const data = {
          eventId,
          tenant: 'acme',
          endpoint: ep,
          type: 't.x',
          createdAt: Date.now(),
          body: `{"id":"${eventId}"}`,
        };
        jobs.push({
          name: JOB_NAME,
          data,
          opts: deliveryJobOptions(deliveryJobId(eventId, 'acme', ep), { attempts: 20, backoffMs: 5_000 }, keep),
        });
      }
    }
    await queue.addBulk(jobs);
    await waitUntil(() => receiver.seen.size === jobs.length, { timeoutMs: 30_000, what: 'every job in flight' });
    const wait = Math.round(Math.random() * 30_000);
    await sleep(wait);
    const killedAt = performance.now();
    if (!a.exited()) process.kill(a.pid, 'SIGKILL');
    await waitUntil(() => a.exited(), { what: 'the killed worker to exit' });
    await sleep(200); // the receiver sees the dead worker's connections close
    receiver.releaseLive();
    const held = () => [...receiver.seen.values()].filter((e) => e.first.cut);
    await waitUntil(() => held().length > 0 && held().every((e) => e.redeliveredAt !== undefined), {
      timeoutMs: 300_000,
      everyMs: 50,
      what: 'the dead worker’s jobs to be redelivered',
    });
    const secs = held()
      .map((e) => (e.redeliveredAt - killedAt) / 1000)
      .sort((x, y) => x - y);
    all.push(...secs);
    process.stdout.write(
      `run ${run}: killed after ${(wait / 1000).toFixed(1)} s with ${secs.length} jobs in flight · redelivered after min ${secs[0].toFixed(1)} s, max ${secs.at(-1).toFixed(1)} s\n`,
    );
    await b.stop();
  }
  all.sort((x, y) => x - y);
  process.stdout.write(
    `all runs: ${all.length} jobs · redelivered after min ${all[0].toFixed(1)} s, median ${all[Math.floor(all.length / 2)].toFixed(1)} s, max ${all.at(-1).toFixed(1)} s\n`,
  );
} finally {
  await stopStragglers();
  await queue.close();
  await receiver.close();
  await redis.close();
  rmSync(runDir, { recursive: true, force: true });
}
