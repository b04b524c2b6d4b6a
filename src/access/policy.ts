// What the operator allows one tenant beyond the default tenant rules (docs/portal.md):
// endpoints at private addresses (loopback, RFC 1918, link-local…) and filters/transforms. Kept
// beside the registry, not in it, so `wss seed` (which rewrites tenant records) never resets an
// allowance. Read from Redis on each tenant write that depends on it: a change holds at once.
import type { RedisClient } from '../redis/client.js';
import type { Registry } from '../tenants/registry.js';
import type { AccessKeys } from './keys.js';

export interface TenantPolicy {
  /** The tenant may register endpoints at private addresses (WSS_ALLOW_PRIVATE_URLS must be true too). */
  allowPrivateUrls: boolean;
  /** The tenant may give filters and transforms (run in the same sandbox, after the same trial). */
  allowExpressions: boolean;
}

export const DEFAULT_POLICY: TenantPolicy = Object.freeze({ allowPrivateUrls: false, allowExpressions: false });

const FIELDS = ['allowPrivateUrls', 'allowExpressions'] as const;

/** Problems of a policy change as the API receives it (every field optional, booleans only). */
export function policyProblems(input: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(input)) {
    if (!(FIELDS as readonly string[]).includes(k))
      problems.push(`field "${k}": unknown field (expected ${FIELDS.join(', ')})`);
    else if (typeof v !== 'boolean') problems.push(`field "${k}": must be true or false`);
  }
  return problems;
}

export class PolicyStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: AccessKeys,
  ) {}

  async get(tenant: string): Promise<TenantPolicy> {
    const json = await this.redis.hget(this.keys.policies, tenant);
    return json === null
      ? { ...DEFAULT_POLICY }
      : { ...DEFAULT_POLICY, ...(JSON.parse(json) as Partial<TenantPolicy>) };
  }

  /**
   * Changes the given fields and brings the tenant's own endpoints in line with the private-URL
   * allowance (see alignPublicOnly). Returns the policy now in force.
   */
  async set(registry: Registry, tenant: string, change: Partial<TenantPolicy>): Promise<TenantPolicy> {
    const next = { ...(await this.get(tenant)), ...change };
    await this.redis.hset(this.keys.policies, tenant, JSON.stringify(next));
    if (change.allowPrivateUrls !== undefined) await alignPublicOnly(registry, tenant, next.allowPrivateUrls);
    return next;
  }
}

/**
 * Endpoints a tenant wrote carry `publicOnly` (true without the allowance, false with it); the
 * operator's own endpoints carry none and are left alone. Returns how many were changed.
 */
export async function alignPublicOnly(registry: Registry, tenant: string, allow: boolean): Promise<number> {
  const snap = await registry.refresh();
  let changed = 0;
  for (const ep of snap.tenants.get(tenant)?.endpoints.values() ?? []) {
    const flag = ep.config.publicOnly;
    if (flag === undefined || flag === !allow) continue;
    const updated = await registry.updateEndpoint(tenant, ep.config.id, (cur) =>
      cur.publicOnly === undefined ? cur : { ...cur, publicOnly: !allow },
    );
    if (updated) changed++;
  }
  return changed;
}
