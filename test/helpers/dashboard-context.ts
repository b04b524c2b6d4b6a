// A RoleContext over a private test Redis, with log lines captured so tests can check what was
// (and was not) logged.
import { parseConfig, type Env } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createRedis } from '../../src/redis.js';
import type { RoleContext } from '../../src/roles.js';
import { Registry } from '../../src/tenants/registry.js';
import { startRedis, type TestRedis } from './redis-server.js';

export interface TestContext {
  ctx: RoleContext;
  redis: TestRedis;
  logLines: string[];
  close(): Promise<void>;
}

export async function startTestContext(env: Env = {}, existing?: TestRedis): Promise<TestContext> {
  const redis = existing ?? (await startRedis());
  const config = parseConfig({
    REDIS_URL: redis.url,
    WSS_PREFIX: 'wsst',
    WSS_STREAM: 'wsst:events',
    PORT: '0',
    WSS_HEALTH_PORT: '0',
    WSS_REGISTRY_POLL_MS: '50',
    WSS_ALLOW_PRIVATE_URLS: 'true',
    WSS_STALLED_INTERVAL_MS: '1000',
    LOG_LEVEL: 'info',
    ...env,
  });
  const logLines: string[] = [];
  const log = createLogger(config.logLevel, { write: (line: string) => void logLines.push(line) });
  const conn = createRedis(config.redisUrl, 'test-main', log);
  const registry = new Registry(conn, config.prefix, log, { secretsKeys: config.secretsKeys });
  await registry.start(config.registryPollMs);
  const ctx: RoleContext = { config, log, redis: conn, registry, now: Date.now };
  return {
    ctx,
    redis,
    logLines,
    async close() {
      registry.stop();
      conn.disconnect();
      if (!existing) await redis.close();
    },
  };
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
