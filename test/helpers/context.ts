// The one test fixture: a RoleContext over the file's private Redis (useTestRedis), built from
// parseConfig, with every log line captured so tests can check what was (and was not) logged.
// The bridge, worker and dashboard contexts (bridge-context.ts, worker-context.ts,
// dashboard-context.ts) extend it with what their suites need.
import { parseConfig, type Config, type Env } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/lib/log.js';
import { createRedis } from '../../src/redis/client.js';
import type { RoleContext } from '../../src/roles.js';
import { Registry } from '../../src/tenants/registry.js';
import { parseTenantsFile } from '../../src/tenants/schema.js';

export interface BaseContextOptions {
  /** Settings each suite wants by default; `env` overrides them. */
  defaults?: Env;
  /** Log at this level whatever LOG_LEVEL says (the worker suites read debug lines). */
  logLevel?: string;
  /** Connection name, as `CLIENT LIST` shows it (wss:<name>). */
  connectionName?: string;
  /** A tenants file seeded (replacing what is there) before the registry starts polling. */
  tenants?: unknown;
}

export interface BaseContext {
  ctx: RoleContext;
  config: Config;
  log: Logger;
  registry: Registry;
  /** Every pino line written through `log`. */
  logs: string[];
  close(): Promise<void>;
}

export async function createBaseContext(
  redisUrl: string,
  env: Env = {},
  opts: BaseContextOptions = {},
): Promise<BaseContext> {
  const config = parseConfig({ REDIS_URL: redisUrl, ...opts.defaults, ...env });
  const logs: string[] = [];
  const log = createLogger(opts.logLevel ?? config.logLevel, { write: (line: string) => void logs.push(line) });
  const redis = createRedis(config, opts.connectionName ?? 'test', log);
  const registry = new Registry(redis, config.prefix, log, { secretsKeys: config.secretsKeys });
  if (opts.tenants !== undefined) await registry.seed(parseTenantsFile(opts.tenants), { replace: true, force: true });
  await registry.start(config.registryPollMs);
  return {
    ctx: { config, log, redis, registry, now: Date.now },
    config,
    log,
    registry,
    logs,
    async close() {
      registry.stop();
      redis.disconnect();
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitUntil(
  what: string,
  cond: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
