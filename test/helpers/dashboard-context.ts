// The dashboard and probe suites' context: the base context (context.ts) under the "wsst"
// prefix, with the HTTP ports left to the OS.
import type { Env } from '../../src/config.js';
import { createBaseContext, type BaseContext } from './context.js';
import type { TestRedis } from './redis-server.js';

export interface TestContext extends BaseContext {
  /** The file's redis-server (useTestRedis), for a second context on the same Redis. */
  redis: TestRedis;
}

export async function startTestContext(env: Env, redis: TestRedis): Promise<TestContext> {
  const base = await createBaseContext(redis.url, env, {
    defaults: {
      WSS_PREFIX: 'wsst',
      WSS_STREAM: 'wsst:events',
      PORT: '0',
      WSS_HEALTH_PORT: '0',
      WSS_REGISTRY_POLL_MS: '50',
      WSS_ALLOW_PRIVATE_URLS: 'true',
      WSS_STALLED_INTERVAL_MS: '1000',
      LOG_LEVEL: 'info',
    },
    connectionName: 'test-main',
  });
  return { ...base, redis };
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** An endpoint for order.* events that fails fast: 2 attempts 50 ms apart, a 2 s timeout. */
export function orderEndpoint(id: string, url: string, secret: string) {
  return {
    id,
    url,
    secret,
    events: ['order.*'],
    headers: {},
    timeoutMs: 2_000,
    retry: { attempts: 2, backoffMs: 50 },
    enabled: true,
  };
}
