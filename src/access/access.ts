// Everything tenant access keeps, built once per dashboard (or CLI command) over one Redis
// connection: tokens, portal links, sessions, the operator's allowances, the per-tenant rate
// limit and the throttle on failed token and link attempts.
import type { Config } from '../config.js';
import type { RedisClient } from '../redis/client.js';
import { AuthFailureLimiter } from '../dashboard/auth-limiter.js';
import { accessKeys } from './keys.js';
import { LinkStore } from './links.js';
import { PolicyStore } from './policy.js';
import { TenantRateLimiter } from './rate.js';
import { SessionStore } from './sessions.js';
import { TokenStore } from './tokens.js';

export interface Access {
  tokens: TokenStore;
  links: LinkStore;
  sessions: SessionStore;
  policies: PolicyStore;
  rate: TenantRateLimiter;
  /**
   * Failed token and link attempts per client address (in memory, per process, as the
   * dashboard's login limit): after 10 in 5 minutes, 429 whatever is sent.
   */
  failures: AuthFailureLimiter;
}

export type AccessConfig = Pick<Config, 'prefix'> & {
  dashboard: Pick<Config['dashboard'], 'portal' | 'tenantRateLimit'>;
};

export function createAccess(redis: RedisClient, config: AccessConfig, now: () => number): Access {
  const keys = accessKeys(config.prefix);
  const { portal } = config.dashboard;
  return {
    tokens: new TokenStore(redis, keys, now),
    links: new LinkStore(redis, keys, portal.linkTtlMs, now),
    sessions: new SessionStore(redis, keys, { idleMs: portal.sessionIdleMs, maxMs: portal.sessionMaxMs }, now),
    policies: new PolicyStore(redis, keys),
    rate: new TenantRateLimiter(redis, keys, config.dashboard.tenantRateLimit, now),
    failures: new AuthFailureLimiter(),
  };
}
