// /healthz, /readyz and /metrics, shared by the dashboard and the small health server that
// bridge-only and worker-only processes run. These three are deliberately unauthenticated:
// orchestrator probes and Prometheus scrapers rarely carry credentials, and none of them
// reveals a secret or a body (metrics carry tenant and endpoint ids as labels, so keep the
// port on the internal network).
import { Router } from 'express';
import { Gauge, Registry } from 'prom-client';
import type { RedisClient } from '../redis/client.js';
import { errorMessage } from '../lib/errors.js';
import { metricsRegistry } from '../lib/metrics.js';
import type { Readiness, RunningRole } from '../roles.js';
import type { ScrapeGauges } from './scrape-gauges.js';
import { PROBE_TIMEOUT_MS, withTimeout } from '../lib/timeout.js';

interface HealthDeps {
  redis: RedisClient;
  /** Every role in this process; the runner passes a live view. */
  roles: () => readonly RunningRole[];
  /** The server's own role, left out of its readiness so it does not ask itself. */
  self: () => RunningRole | undefined;
  gauges: ScrapeGauges;
  checkTimeoutMs?: number;
}

interface ReadinessReport {
  ok: boolean;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

export async function redisReadiness(redis: RedisClient, timeoutMs: number): Promise<Readiness> {
  // ioredis would queue a PING until Redis is back; a probe wants an answer now.
  if (redis.status !== 'ready') return { ok: false, detail: `redis connection is ${redis.status}` };
  try {
    await withTimeout(redis.ping(), timeoutMs, 'redis PING');
    return { ok: true, detail: 'redis reachable' };
  } catch (err) {
    return { ok: false, detail: errorMessage(err) };
  }
}

async function readiness(deps: HealthDeps): Promise<ReadinessReport> {
  const timeoutMs = deps.checkTimeoutMs ?? PROBE_TIMEOUT_MS;
  const self = deps.self();
  const others = deps.roles().filter((r) => r !== self);
  const results = await Promise.all([
    redisReadiness(deps.redis, timeoutMs).then((r) => ({ name: 'redis', ...r })),
    ...others.map(async (role) => {
      try {
        const r = await withTimeout(role.ready(), timeoutMs, `${role.name} readiness`);
        return { name: role.name, ok: r.ok, detail: r.detail };
      } catch (err) {
        return { name: role.name, ok: false, detail: errorMessage(err) };
      }
    }),
  ]);
  return { ok: results.every((r) => r.ok), checks: results };
}

export function healthRouter(deps: HealthDeps): Router {
  const router = Router();
  // /readyz's checks as a gauge, so an alert sees a role that is up but not ready.
  const readyRegistry = new Registry();
  const ready = new Gauge({
    name: 'wss_ready',
    help: "1 when /readyz's check passes, else 0, by check: redis and each bridge or worker role of this process (the server answering is up by definition).",
    labelNames: ['check'] as const,
    registers: [readyRegistry],
  });
  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  router.get('/readyz', async (_req, res) => {
    const report = await readiness(deps);
    res.status(report.ok ? 200 : 503).json(report);
  });
  router.get('/metrics', async (_req, res) => {
    const [report] = await Promise.all([readiness(deps), deps.gauges.collect()]);
    ready.reset();
    for (const c of report.checks) ready.set({ check: c.name }, c.ok ? 1 : 0);
    const text =
      (await metricsRegistry.metrics()) + (await deps.gauges.registry.metrics()) + (await readyRegistry.metrics());
    res.set('Content-Type', metricsRegistry.contentType).send(text);
  });
  return router;
}
