// GET /api/tenants/:t/endpoints/:e/health: the endpoint's circuit as the workers share it in
// Redis, its fleet-wide limits (in flight, rate tokens, a 429/503 pause), its recent failures and
// why it is disabled. A few reads of small keys.
import type { RedisClient } from '../redis/client.js';
import type { ShardLayout } from '../redis/shards.js';
import type { EndpointConfig } from '../tenants/schema.js';
import { readCircuit } from '../endpoints/circuit.js';
import { circuitSettings } from '../endpoints/guard.js';
import { readLimits } from '../endpoints/limits.js';

export async function endpointHealth(
  redis: RedisClient,
  prefix: string,
  tenant: string,
  ep: EndpointConfig,
  layout: ShardLayout,
) {
  const [c, limits] = await Promise.all([
    readCircuit(redis, prefix, tenant, ep.id, layout),
    readLimits(redis, prefix, tenant, ep.id, ep, layout),
  ]);
  const { failures, coolDownMs } = circuitSettings(ep);
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    tenant,
    endpoint: ep.id,
    enabled: ep.enabled,
    disabled: ep.disabled ?? null,
    circuit: {
      state: c.state,
      consecutiveFailures: c.failures,
      opensInARow: c.opens,
      openUntil: c.state === 'closed' ? null : iso(c.openUntil),
      failingSince: iso(c.failingSince),
      opensAfter: failures,
      firstCoolDownMs: coolDownMs,
    },
    limits,
    recentFailures: c.recentFailures,
  };
}
