// What the `wss` commands that work on Redis share: one connection to the configured (or an
// embedded) Redis with the registry on it, a tenants file read the way `wss seed` and
// TENANTS_FILE both read it, and the flags that name an endpoint or ask for JSON. Kept out of
// cli.ts, which runs `main` when imported.
import { readSecretEnv, type Config } from '../config.js';
import { trialTenantsFile } from '../expressions/trial.js';
import { ensureRedis } from '../redis/embedded.js';
import { UsageError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { createReadyRedis, type RedisClient } from '../redis/client.js';
import { Registry } from '../tenants/registry.js';
import { loadTenantsFile, missingSecretEnvs } from '../tenants/load-file.js';
import type { TenantsFile } from '../tenants/schema.js';

/** The longest a one-off command waits for Redis (WSS_REDIS_WAIT_MS when shorter). */
export const CLI_REDIS_WAIT_MS = 5_000;

export async function withRegistry<T>(
  config: Config,
  log: Logger,
  fn: (registry: Registry, redis: RedisClient, url: string) => Promise<T>,
): Promise<T> {
  const target = await ensureRedis(config, log);
  const spec = { ...config, redisUrl: target.url };
  // A one-off command answers within a few seconds, also when nothing listens at REDIS_URL.
  const redis = await createReadyRedis(spec, 'cli', log, target.stop, {
    timeoutMs: Math.min(config.redisWaitMs, CLI_REDIS_WAIT_MS),
  });
  try {
    return await fn(new Registry(redis, config.prefix, log, { secretsKeys: config.secretsKeys }), redis, target.url);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
    // The embedded server keeps running only for `start`; a one-off command stops what it started.
    await target.stop?.();
  }
}

/**
 * A tenants file ready to seed: read and validated under this process's registration rules, its
 * filters and transforms through the trial (errors name the file), and `missing` called once per
 * secretEnv this process cannot see (workers need them; seeding does not).
 */
export async function loadCheckedTenantsFile(
  path: string,
  config: Config,
  missing: (where: string) => void,
): Promise<TenantsFile> {
  const file = await loadTenantsFile(path, {
    allowPrivateUrls: config.allowPrivateUrls,
    secretsEncrypted: config.secretsKeys !== undefined,
  });
  await trialTenantsFile(file, config, `${path}: tenants file`);
  for (const m of missingSecretEnvs(file, (n) => readSecretEnv(n) !== undefined)) missing(m);
  return file;
}

/** `--tenant T --endpoint E`, for parseArgs. */
export const TARGET_FLAGS = { tenant: { type: 'string' }, endpoint: { type: 'string' } } as const;
/** `--json`, for parseArgs. */
export const JSON_FLAG = { json: { type: 'boolean', default: false } } as const;

/** Both of --tenant and --endpoint, or a usage error naming the command. */
export function requireTarget(
  command: string,
  values: { tenant?: string | undefined; endpoint?: string | undefined },
): { tenant: string; endpoint: string } {
  if (!values.tenant || !values.endpoint) throw new UsageError(`${command} needs --tenant and --endpoint`);
  return { tenant: values.tenant, endpoint: values.endpoint };
}
