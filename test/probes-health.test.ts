// /healthz, /readyz and /metrics on the dashboard and on the small health server, including
// Redis going away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHealthServer, type RunningHealthServer } from '../src/probes/health-server.js';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { deliveryJobOptions, JOB_NAME, type DeliveryQueue } from '../src/queue/job.js';
import { createDeliveryQueue } from './helpers/legacy-queue.js';
import type { Readiness, RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';

const { redis } = useTestRedis();

let t: TestContext;
let dash: RunningDashboard;
let health: RunningHealthServer;
let queue: DeliveryQueue;
const roles: RunningRole[] = [];

function fakeRole(ready: () => Promise<Readiness>): RunningRole {
  return { name: 'bridge', ready, stop: async () => {} };
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  t = await startTestContext({ WSS_DASHBOARD_PASSWORD: 'health-test-password' }, redis());
  dash = await startDashboard(t.ctx, { roles: () => roles });
  roles.push(dash);
  health = await startHealthServer(t.ctx, { roles: () => roles, port: 0 });
  roles.push(health);
  queue = createDeliveryQueue(t.ctx.redis, t.ctx.config.prefix);
  queue.on('error', () => {});
});

afterAll(async () => {
  for (const r of roles) await r.stop();
  await queue?.close();
  await t?.close();
});

describe('health and readiness', () => {
  it('/healthz is 200 on both servers', async () => {
    for (const base of [dash.url, health.url])
      expect(await get(`${base}/healthz`)).toEqual({ status: 200, text: '{"ok":true}' });
  });

  it('/readyz aggregates every role of the process, a real worker included', async () => {
    roles.push(await startWorker(t.ctx));
    for (const base of [dash.url, health.url]) {
      const res = await get(`${base}/readyz`);
      expect(res.status).toBe(200);
      const report = JSON.parse(res.text) as { ok: boolean; checks: Array<{ name: string; ok: boolean }> };
      expect(report.ok).toBe(true);
      // Redis plus every other role (the dashboard and the health server leave themselves out).
      expect(report.checks).toHaveLength(roles.length);
      expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['redis', 'worker']));
    }
  });

  it('/readyz is 503 when a role is not ready or does not answer', async () => {
    const notReady = fakeRole(async () => ({ ok: false, detail: 'consumer group missing' }));
    roles.push(notReady);
    let res = await get(`${health.url}/readyz`);
    expect(res.status).toBe(503);
    expect(res.text).toContain('consumer group missing');
    roles.splice(roles.indexOf(notReady), 1);
    const hung = fakeRole(() => new Promise<Readiness>(() => {}));
    roles.push(hung);
    res = await get(`${dash.url}/readyz`);
    expect(res.status).toBe(503);
    expect(res.text).toContain('timed out');
    roles.splice(roles.indexOf(hung), 1);
    expect((await get(`${dash.url}/readyz`)).status).toBe(200);
  });

  it('unknown paths on the health port are 404', async () => {
    expect((await get(`${health.url}/admin/queues`)).status).toBe(404);
  });
});

describe('/metrics', () => {
  it('serves the delivery metrics and the scrape-time gauges', async () => {
    const { stream, group, deadLetterStream } = t.ctx.config;
    const r = t.ctx.redis;
    await r.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    for (let i = 0; i < 3; i++) await r.xadd(stream, '*', 'tenant', 'acme', 'type', 't', 'data', '{}');
    await r.xreadgroup('GROUP', group, 'probe', 'COUNT', 1, 'STREAMS', stream, '>');
    await r.xadd(deadLetterStream, '*', 'reason', 'x');
    await r.xadd(deadLetterStream, '*', 'reason', 'y');
    await queue.pause();
    await queue.add(
      JOB_NAME,
      { eventId: 'm1', tenant: 'acme', endpoint: 'e', type: 't', createdAt: 0, body: '{}' },
      deliveryJobOptions(
        'm1_acme_e',
        { attempts: 1, backoffMs: 10 },
        { dedupTtlMs: 1_000, keepCompleted: { count: 1, age: 1 } },
      ),
    );
    await queue.add(
      JOB_NAME,
      { eventId: 'm2', tenant: 'acme', endpoint: 'e', type: 't', createdAt: 0, body: '{}' },
      {
        ...deliveryJobOptions(
          'm2_acme_e',
          { attempts: 1, backoffMs: 10 },
          { dedupTtlMs: 1_000, keepCompleted: { count: 1, age: 1 } },
        ),
        delay: 60_000,
      },
    );
    for (const base of [dash.url, health.url]) {
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      for (const name of [
        'wss_deliveries_total',
        'wss_attempt_duration_seconds',
        'wss_end_to_end_lag_seconds',
        'wss_dead_lettered_total',
        'wss_events_unrouted_total',
        'wss_bridge_batch_entries',
      ]) {
        expect(text).toContain(`# TYPE ${name} `);
      }
      expect(sample(text, 'wss_redis_up')).toBe(1);
      expect(sample(text, 'wss_queue_jobs{state="waiting"}')).toBe(1);
      expect(sample(text, 'wss_queue_jobs{state="delayed"}')).toBe(1);
      expect(sample(text, 'wss_queue_jobs{state="failed"}')).toBe(0);
      // The same jobs per queue (one per shard; this legacy queue is the only one).
      expect(sample(text, `wss_queue_shard_jobs{queue="${queue.name}",state="waiting"}`)).toBe(1);
      expect(sample(text, `wss_queue_shard_jobs{queue="${queue.name}",state="delayed"}`)).toBe(1);
      expect(sample(text, 'wss_endpoint_circuits{state="open"}')).toBe(0);
      // /readyz's checks, and counters of a fixed label set present at 0 before anything happened.
      expect(sample(text, 'wss_ready{check="redis"}')).toBe(1);
      expect(sample(text, 'wss_history_write_failures_total{writer="worker"}')).toBe(0);
      expect(sample(text, 'wss_endpoints_disabled_total{kind="auto"}')).toBe(0);
      // The process's own: memory and event-loop lag.
      expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(sample(text, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
      expect(sample(text, 'wss_stream_length')).toBe(3);
      expect(sample(text, 'wss_stream_consumer_lag')).toBe(2);
      expect(sample(text, 'wss_stream_pending')).toBe(1);
      expect(sample(text, 'wss_dead_letter_length')).toBe(2);
      expect(text).not.toMatch(/m1_acme_e|eventId/);
    }
    await queue.resume();
  });
});

describe('Redis going away', () => {
  it('/readyz turns 503 and /metrics reports redis down; both recover when Redis is back', async () => {
    await t.redis.stop();
    try {
      for (const base of [dash.url, health.url]) {
        expect((await get(`${base}/healthz`)).status).toBe(200);
        const ready = await get(`${base}/readyz`);
        expect(ready.status).toBe(503);
        expect(JSON.parse(ready.text).checks.find((c: { name: string }) => c.name === 'redis').ok).toBe(false);
        const metrics = await get(`${base}/metrics`);
        expect(metrics.status).toBe(200);
        expect(sample(metrics.text, 'wss_redis_up')).toBe(0);
        expect(sample(metrics.text, 'wss_ready{check="redis"}')).toBe(0);
      }
    } finally {
      await t.redis.start();
    }
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline && (status = (await get(`${dash.url}/readyz`)).status) !== 200)
      await new Promise((r) => setTimeout(r, 200));
    expect(status).toBe(200);
    expect(sample((await get(`${health.url}/metrics`)).text, 'wss_redis_up')).toBe(1);
  });
});
