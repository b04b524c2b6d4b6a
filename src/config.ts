// The only module of the service that reads process.env (eslint enforces it): everything else
// receives a Config. The demo (src/demo/), the tests and the bench set and read variables of
// their own and are exempt (eslint.config.js).
import { z } from 'zod';
import { ConfigError } from './lib/errors.js';
import { assemble, settingsOf, type Parsed } from './config/setting.js';
import { DEFAULT_REDIS_URL, settings } from './config/settings.js';
import type { ShardLayout } from './redis/shards.js';

export { DASHBOARD_PASSWORD_MIN } from './config/settings.js';
export type { SecretsKey } from './config/value-parsers.js';

// Every variable, keyed by its name, so each error names the variable (zod's issue path).
const envSchema = z.object(Object.fromEntries(settingsOf(settings).map((s) => [s.env, s.schema])));

/**
 * Tracing is on when an exporter is named (other than `none`), or when an endpoint is set and
 * no exporter is named; `url` is where OTLP spans go (the signal's own endpoint as it is, else
 * the base endpoint + /v1/traces, else the standard local collector).
 */
function tracingOf(t: Parsed<typeof settings>['tracing']) {
  const exporter = t.exporter ?? (t.endpoint !== undefined || t.tracesEndpoint !== undefined ? 'otlp' : 'none');
  const base = t.endpoint ?? 'http://localhost:4318';
  const url = t.tracesEndpoint ?? `${base.replace(/\/+$/, '')}/v1/traces`;
  return Object.freeze({ ...t, exporter, enabled: exporter !== 'none', url });
}

/** The few values that follow from others rather than from one variable. */
function derive(s: Parsed<typeof settings>, env: Env) {
  return {
    ...s,
    redisUrl: s.redisUrl ?? DEFAULT_REDIS_URL,
    /** True when REDIS_URL was given explicitly: never spawn an embedded Redis then. */
    redisUrlExplicit: s.redisUrl !== undefined,
    deadLetterStream: `${s.stream}:dead`,
    /** Where an endpoint's queue and keys live (src/redis/shards.ts). */
    layout: Object.freeze({ count: s.shards, cluster: s.redisClusterNodes !== undefined }) as ShardLayout,
    worker: Object.freeze({
      ...s.worker,
      endpointConcurrency: Math.min(s.worker.endpointConcurrency, s.worker.concurrency),
    }),
    /** True when WSS_HEALTH_PORT was given: a taken port then stops start-up instead of moving to a free one. */
    healthPortExplicit: (env['WSS_HEALTH_PORT'] ?? '').trim() !== '',
    /** portExplicit: true when PORT was given (only the error message for a taken port differs). */
    dashboard: Object.freeze({ ...s.dashboard, portExplicit: (env['PORT'] ?? '').trim() !== '' }),
    tracing: tracingOf(s.tracing),
  };
}

/**
 * The whole configuration (src/config/settings.ts declares each variable and says what it
 * means): shared values at the top, and one section per role that only that role reads.
 */
export type Config = Readonly<ReturnType<typeof derive>>;

/** The sections that only one role reads. */
export type ConfigSection = 'bridge' | 'worker' | 'dashboard';

/** What every role may read: everything but the role sections. */
export type SharedConfig = Omit<Config, ConfigSection>;

/** What a role receives: the shared values and its own section. */
export type RoleConfig<S extends ConfigSection> = SharedConfig & Pick<Config, S>;

export type DashboardConfig = Config['dashboard'];

export type Env = Readonly<Record<string, string | undefined>>;

/** Parses an environment. Throws ConfigError naming every bad variable. */
export function parseConfig(env: Env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment: ${lines.join('; ')}`, lines);
  }
  const config = derive(assemble(settings, parsed.data), env);
  const { auth, bind } = config.dashboard;
  if (auth === 'off' && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(bind)) {
    const line = `WSS_DASHBOARD_BIND: "${bind}" is not a loopback address, and WSS_DASHBOARD_AUTH=off is for local use only (the dashboard then listens on 127.0.0.1): turn authentication on, or bind 127.0.0.1`;
    throw new ConfigError(`invalid environment: ${line}`, [line]);
  }
  const over = (config.worker.shards ?? []).filter((k) => k > config.shards);
  if (over.length > 0) {
    const line = `WSS_WORKER_SHARDS: shard ${over.join(', ')} does not exist: WSS_SHARDS is ${config.shards} (shards are numbered 1 to ${config.shards})`;
    throw new ConfigError(`invalid environment: ${line}`, [line]);
  }
  return Object.freeze(config);
}

/** The part of `config` that every role may read (all the probe server gets). */
export function sharedConfig(config: Config): SharedConfig {
  const { bridge: _b, worker: _w, dashboard: _d, ...shared } = config;
  return Object.freeze(shared);
}

/** What the role owning `section` receives: the shared values and that section, no other. */
export function roleConfig<S extends ConfigSection>(config: Config, section: S): RoleConfig<S> {
  return Object.freeze({ ...sharedConfig(config), [section]: config[section] }) as RoleConfig<S>;
}

let cached: Config | undefined;

/** The process's configuration, parsed from process.env on first use. */
export function getConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** This process's environment with some variables set by the program itself (the demo). */
export function configWith(overrides: Env): Config {
  return parseConfig({ ...process.env, ...overrides });
}

/**
 * Endpoint secrets given as `secretEnv` are read from this process's environment at send
 * time, so they never have to be stored in Redis. Only WSS_SECRET_* names are read (see
 * SECRET_ENV_PATTERN in tenants/schema.ts; repeated here so config.ts imports nothing more).
 */
export function readSecretEnv(name: string): string | undefined {
  if (!/^WSS_SECRET_[A-Za-z0-9_]{1,200}$/.test(name)) return undefined;
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}
