// The process runner behind `wss start` (and the demo): one Redis (an embedded one if none
// answers), one registry (TENANTS_FILE seeded into it), the requested roles, and a stop() that
// cli.ts calls on SIGTERM/SIGINT. The stop order: bridge and worker wind down side by side, each
// bounded by the grace period (the bridge acks what it enqueued while workers finish what they
// hold), then the HTTP server (dashboard or probes), then the registry, the Redis connection and
// the embedded redis-server if it started one.
import type { Config } from '../config.js';
import { ensureRedis } from '../redis/embedded.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { once } from '../lib/once.js';
import { setMetricLabelDetail } from '../lib/metrics.js';
import { createReadyRedis, describeTarget, targetLabel } from '../redis/client.js';
import type { RoleContext, RoleName, RunningRole } from '../roles.js';
import { loadCheckedTenantsFile } from './common.js';
import { Registry } from '../tenants/registry.js';
import { settlesWithin } from '../lib/timeout.js';
import { roleConfig, sharedConfig } from '../config.js';
import { createTracer } from '../tracing/tracer.js';

export const ALL_ROLES: readonly RoleName[] = ['bridge', 'worker', 'dashboard'];

export interface Service {
  ctx: RoleContext;
  roles: RunningRole[];
  /** Stops everything; resolves when the process may exit. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Aborted by SIGTERM/SIGINT during start-up: the wait for Redis ends at once (AbortedError). */
  signal?: AbortSignal;
}

export async function startService(
  baseConfig: Config,
  roleNames: readonly RoleName[],
  log: Logger,
  opts: StartOptions = {},
): Promise<Service> {
  setMetricLabelDetail(baseConfig.metricsLabels);
  const target = await ensureRedis(baseConfig, log);
  const config: Config = Object.freeze({ ...baseConfig, redisUrl: target.url });
  const redis = await createReadyRedis(config, 'main', log, target.stop, {
    timeoutMs: config.redisWaitMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onWaiting: (err) =>
      log.warn(
        { redis: targetLabel(config), err: err.message, waitMs: config.redisWaitMs },
        `redis: not reachable, waiting up to ${config.redisWaitMs / 1000} s for it (WSS_REDIS_WAIT_MS)`,
      ),
  });
  const registry = new Registry(redis, config.prefix, log, { secretsKeys: config.secretsKeys });

  if (config.tenantsFile) {
    const file = await loadCheckedTenantsFile(config.tenantsFile, config, (m) =>
      log.warn(`secretEnv not set in this process: ${m}`),
    );
    // Only what is new: a restart must not undo what the admin API changed since (a rotated
    // secret, a disabled endpoint). `wss seed` is the explicit overwrite.
    const { created, kept } = await registry.seedNew(file);
    log.info(
      { file: config.tenantsFile, created, kept },
      'tenants file seeded (new tenants and endpoints only; existing ones kept)',
    );
  }
  await registry.start(config.registryPollMs);

  // The SDK is imported here only when OTEL_* turns tracing on (tracing/tracer.ts).
  const tracer = await createTracer(config);
  const ctx: RoleContext = { config, log, redis, registry, now: Date.now, tracer };
  const roles: RunningRole[] = [];
  const wanted = new Set(roleNames);
  try {
    // Each role receives only its own section of the configuration, besides the shared values.
    if (wanted.has('worker'))
      roles.push(
        await (await import('../workers/worker.js')).startWorker({ ...ctx, config: roleConfig(config, 'worker') }),
      );
    if (wanted.has('bridge'))
      roles.push(
        await (await import('../producers/bridge.js')).startBridge({ ...ctx, config: roleConfig(config, 'bridge') }),
      );
    if (wanted.has('dashboard')) {
      roles.push(
        await (
          await import('../dashboard/server.js')
        ).startDashboard({ ...ctx, config: roleConfig(config, 'dashboard') }, { roles: () => roles }),
      );
    } else {
      roles.push(
        await (
          await import('../probes/health-server.js')
        ).startHealthServer({ ...ctx, config: sharedConfig(config) }, { roles: () => roles }),
      );
    }
  } catch (err) {
    await Promise.allSettled(roles.map((r) => r.stop()));
    await tracer.shutdown(1_000);
    registry.stop();
    redis.disconnect();
    await target.stop?.();
    throw err;
  }
  log.info(
    { roles: [...wanted], redis: describeTarget(config), stream: config.stream, prefix: config.prefix },
    'webhook-sender started',
  );

  const stopRole = async (r: RunningRole) => {
    try {
      await r.stop();
    } catch (err) {
      log.error({ role: r.name, err: errorMessage(err) }, 'role did not stop cleanly');
    }
  };
  const stop = once(async () => {
    // Bridge and worker wind down side by side (each bounded by the grace period): the
    // bridge acks what it enqueued while workers finish what they hold. HTTP goes last.
    const [work, rest] = [
      roles.filter((r) => r.name === 'bridge' || r.name === 'worker'),
      roles.filter((r) => r.name !== 'bridge' && r.name !== 'worker'),
    ];
    await Promise.all(work.map(stopRole));
    await Promise.all(rest.map(stopRole));
    // The spans of the last deliveries: exported now, within the grace period, or dropped.
    await tracer.shutdown(config.shutdownGraceMs);
    registry.stop();
    // QUIT would wait forever for a Redis that is down.
    if (
      !(await settlesWithin(
        redis.quit().catch(() => undefined),
        1_000,
      ))
    )
      redis.disconnect();
    await target.stop?.();
    log.info('webhook-sender stopped');
  });
  return { ctx, roles, stop };
}
