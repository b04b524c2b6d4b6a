// The only module that reads process.env. Everything else receives a Config.
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors.js';

const bool = (fallback: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      ctx.addIssue({ code: 'custom', message: `expected true or false, got "${v}"` });
      return z.NEVER;
    });

const int = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const str = (fallback: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : v));

const optionalStr = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

const redisUrl = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '') return undefined;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not a URL (expected redis://host:port or rediss://…)' });
      return z.NEVER;
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      ctx.addIssue({ code: 'custom', message: `expected redis:// or rediss://, got "${url.protocol}"` });
      return z.NEVER;
    }
    return v;
  });

const streamKey = (fallback: string) =>
  str(fallback).refine((v) => v.length <= 200 && !/\s/.test(v), 'must be a key without spaces');

/** The shortest WSS_DASHBOARD_PASSWORD accepted (the generated one has 24 characters). */
export const DASHBOARD_PASSWORD_MIN = 12;

// WSS_DASHBOARD_HOSTS: "name[:port]" or "[v6]:port" entries, comma-separated, or "*".
const hostList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const entries = (v ?? '').split(',').map((e) => e.trim().toLowerCase()).filter((e) => e !== '');
    if (entries.length === 0) return undefined;
    const bad = entries.filter((e) => e !== '*' && !/^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:\d{1,5})?$/.test(e));
    if (bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `expected host or host:port entries separated by commas, got "${bad.join('", "')}"` });
      return z.NEVER;
    }
    return Object.freeze(entries);
  });

export interface SecretsKey {
  id: string;
  key: Buffer;
}

// WSS_SECRETS_KEY: "<id>:<base64 of 32 bytes>", comma-separated; the first one encrypts.
// The key material is never quoted in an error.
const secretsKeys = z
  .string()
  .optional()
  .transform((v, ctx): readonly SecretsKey[] | undefined => {
    const entries = (v ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
    if (entries.length === 0) return undefined;
    const out: SecretsKey[] = [];
    for (const [i, entry] of entries.entries()) {
      const m = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/=_-]+)$/.exec(entry);
      const key = m ? Buffer.from(m[2]!, 'base64') : undefined;
      if (!m || key?.length !== 32) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: expected <key id>:<base64 of 32 random bytes> (e.g. k1:$(openssl rand -base64 32))` });
        return z.NEVER;
      }
      if (out.some((k) => k.id === m[1])) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: key id "${m[1]}" appears twice` });
        return z.NEVER;
      }
      out.push({ id: m[1]!, key });
    }
    return Object.freeze(out);
  });

const envSchema = z.object({
  REDIS_URL: redisUrl,
  WSS_STREAM: streamKey('wss:events'),
  WSS_GROUP: streamKey('wss-bridge'),
  WSS_CONSUMER: optionalStr,
  // BullMQ joins prefix and queue name with ':' so the prefix itself may hold one, but no spaces.
  WSS_PREFIX: streamKey('wss'),
  WSS_CONCURRENCY: int(50, 1, 10_000),
  WSS_ENDPOINT_CONCURRENCY: int(20, 1, 10_000),
  TENANTS_FILE: optionalStr,
  WSS_ALLOW_PRIVATE_URLS: bool(false),
  PORT: int(3000, 0, 65_535),
  WSS_HEALTH_PORT: int(3001, 0, 65_535),
  WSS_DASHBOARD_USER: str('admin'),
  WSS_DASHBOARD_PASSWORD: optionalStr.refine((v) => v === undefined || v.length >= DASHBOARD_PASSWORD_MIN, `must be at least ${DASHBOARD_PASSWORD_MIN} characters`),
  WSS_DASHBOARD_AUTH: z
    .enum(['on', 'off'], { message: 'expected "on" or "off"' })
    .optional()
    .transform((v) => v ?? 'on'),
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
      message: 'expected one of trace, debug, info, warn, error, fatal, silent',
    })
    .optional()
    .transform((v) => v ?? 'info'),
  WSS_SHUTDOWN_GRACE_MS: int(25_000, 0, 600_000),
  WSS_BATCH_SIZE: int(500, 1, 10_000),
  WSS_BLOCK_MS: int(1_000, 1, 60_000),
  WSS_CLAIM_IDLE_MS: int(60_000, 1_000, 86_400_000),
  WSS_CLAIM_INTERVAL_MS: int(30_000, 100, 86_400_000),
  WSS_DEDUP_TTL_MS: int(3_600_000, 1_000, 30 * 86_400_000),
  WSS_STALLED_INTERVAL_MS: int(30_000, 100, 3_600_000),
  WSS_REGISTRY_POLL_MS: int(1_000, 50, 5_000),
  WSS_MAX_BACKOFF_MS: int(7_200_000, 100, 7 * 86_400_000),
  WSS_RETRY_AFTER_MAX_MS: int(3_600_000, 0, 7 * 86_400_000),
  WSS_KEEP_COMPLETED_COUNT: int(1_000, 0, 10_000_000),
  WSS_KEEP_COMPLETED_AGE_SEC: int(3_600, 0, 30 * 86_400),
  WSS_STREAM_TRIM: bool(true),
  WSS_DATA_DIR: str('.data'),
  WSS_DASHBOARD_HOSTS: hostList,
  WSS_MAX_EVENT_BYTES: int(262_144, 1_024, 67_108_864),
  WSS_BATCH_BYTES: int(8_388_608, 1_024, 1_073_741_824),
  WSS_MAX_ENTRY_DELIVERIES: int(5, 2, 1_000),
  WSS_BRIDGE_UNHEALTHY_AFTER_MS: int(10_000, 1_000, 86_400_000),
  WSS_EXPR_TIMEOUT_MS: int(50, 1, 60_000),
  WSS_EXPR_BREAK_AFTER: int(5, 1, 1_000_000),
  WSS_EXPR_MEMORY_MB: int(64, 16, 4_096),
  WSS_EXPR_THREADS: int(2, 1, 64),
  WSS_SECRETS_KEY: secretsKeys,
  WSS_LOCK_DURATION_MS: int(30_000, 1_000, 3_600_000),
  WSS_MAX_STALLED_COUNT: int(20, 0, 1_000),
});

export type Config = Readonly<{
  redisUrl: string;
  /** True when REDIS_URL was given explicitly: never spawn an embedded Redis then. */
  redisUrlExplicit: boolean;
  stream: string;
  deadLetterStream: string;
  group: string;
  consumer: string;
  prefix: string;
  concurrency: number;
  endpointConcurrency: number;
  tenantsFile: string | undefined;
  allowPrivateUrls: boolean;
  port: number;
  healthPort: number;
  dashboardUser: string;
  dashboardPassword: string | undefined;
  dashboardAuth: 'on' | 'off';
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  shutdownGraceMs: number;
  batchSize: number;
  blockMs: number;
  claimIdleMs: number;
  claimIntervalMs: number;
  dedupTtlMs: number;
  stalledIntervalMs: number;
  registryPollMs: number;
  maxBackoffMs: number;
  retryAfterMaxMs: number;
  keepCompleted: Readonly<{ count: number; age: number }>;
  streamTrim: boolean;
  dataDir: string;
  /** Host[:port] names the dashboard answers to; undefined = the default for dashboardAuth. */
  dashboardHosts: readonly string[] | undefined;
  /** Largest `data` and transformed body, in UTF-8 bytes; larger ones are dead-lettered. */
  maxEventBytes: number;
  /** Bridge: byte budget per read; the next read's COUNT follows the last read's entry size. */
  batchBytes: number;
  /** A stream entry delivered this many times without acknowledgement is dead-lettered (poison). */
  maxEntryDeliveries: number;
  /** The bridge reports not ready after failing to read or commit for this long. */
  bridgeUnhealthyAfterMs: number;
  /** Filters and transforms (docs/expressions.md). */
  expr: Readonly<{ timeoutMs: number; breakAfter: number; memoryMb: number; threads: number }>;
  /** WSS_SECRETS_KEY: keys that encrypt endpoint secrets in Redis; the first encrypts, all decrypt. */
  secretsKeys: readonly SecretsKey[] | undefined;
  /** How long a worker's lock on a job lasts without renewal (BullMQ renews it while the worker lives). */
  lockDurationMs: number;
  /** How often a job may stall (its worker died or lost the lock) before it fails; a stall spends no attempt. */
  maxStalledCount: number;
  /** True when WSS_HEALTH_PORT was given: a taken port then stops start-up instead of moving to a free one. */
  healthPortExplicit: boolean;
  /** True when PORT was given (only the error message for a taken port differs). */
  portExplicit: boolean;
}>;

export type Env = Readonly<Record<string, string | undefined>>;

/** Parses an environment. Throws ConfigError naming every bad variable. */
export function parseConfig(env: Env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment: ${lines.join('; ')}`, lines);
  }
  const e = parsed.data;
  return Object.freeze({
    redisUrl: e.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisUrlExplicit: e.REDIS_URL !== undefined,
    stream: e.WSS_STREAM,
    deadLetterStream: `${e.WSS_STREAM}:dead`,
    group: e.WSS_GROUP,
    consumer: e.WSS_CONSUMER ?? `${hostname()}-${process.pid}`,
    prefix: e.WSS_PREFIX,
    concurrency: e.WSS_CONCURRENCY,
    endpointConcurrency: Math.min(e.WSS_ENDPOINT_CONCURRENCY, e.WSS_CONCURRENCY),
    tenantsFile: e.TENANTS_FILE,
    allowPrivateUrls: e.WSS_ALLOW_PRIVATE_URLS,
    port: e.PORT,
    healthPort: e.WSS_HEALTH_PORT,
    dashboardUser: e.WSS_DASHBOARD_USER,
    dashboardPassword: e.WSS_DASHBOARD_PASSWORD,
    dashboardAuth: e.WSS_DASHBOARD_AUTH,
    logLevel: e.LOG_LEVEL,
    shutdownGraceMs: e.WSS_SHUTDOWN_GRACE_MS,
    batchSize: e.WSS_BATCH_SIZE,
    blockMs: e.WSS_BLOCK_MS,
    claimIdleMs: e.WSS_CLAIM_IDLE_MS,
    claimIntervalMs: e.WSS_CLAIM_INTERVAL_MS,
    dedupTtlMs: e.WSS_DEDUP_TTL_MS,
    stalledIntervalMs: e.WSS_STALLED_INTERVAL_MS,
    registryPollMs: e.WSS_REGISTRY_POLL_MS,
    maxBackoffMs: e.WSS_MAX_BACKOFF_MS,
    retryAfterMaxMs: e.WSS_RETRY_AFTER_MAX_MS,
    keepCompleted: Object.freeze({ count: e.WSS_KEEP_COMPLETED_COUNT, age: e.WSS_KEEP_COMPLETED_AGE_SEC }),
    streamTrim: e.WSS_STREAM_TRIM,
    dataDir: e.WSS_DATA_DIR,
    dashboardHosts: e.WSS_DASHBOARD_HOSTS,
    maxEventBytes: e.WSS_MAX_EVENT_BYTES,
    batchBytes: e.WSS_BATCH_BYTES,
    maxEntryDeliveries: e.WSS_MAX_ENTRY_DELIVERIES,
    bridgeUnhealthyAfterMs: e.WSS_BRIDGE_UNHEALTHY_AFTER_MS,
    expr: Object.freeze({ timeoutMs: e.WSS_EXPR_TIMEOUT_MS, breakAfter: e.WSS_EXPR_BREAK_AFTER, memoryMb: e.WSS_EXPR_MEMORY_MB, threads: e.WSS_EXPR_THREADS }),
    secretsKeys: e.WSS_SECRETS_KEY,
    lockDurationMs: e.WSS_LOCK_DURATION_MS,
    maxStalledCount: e.WSS_MAX_STALLED_COUNT,
    healthPortExplicit: (env.WSS_HEALTH_PORT ?? '').trim() !== '',
    portExplicit: (env.PORT ?? '').trim() !== '',
  });
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
