// GET /api/tenants/:t/endpoints/:e/health: the endpoint's circuit as the workers share it in
// Redis, its recent failures and why it is disabled. Two reads of small keys.
import type { Redis } from 'ioredis';
import type { EndpointConfig } from '../tenants/schema.js';
import { readCircuit } from '../workers/circuit.js';
import { circuitSettings } from '../workers/endpoint-guard.js';

export async function endpointHealth(redis: Redis, prefix: string, tenant: string, ep: EndpointConfig) {
  const c = await readCircuit(redis, prefix, tenant, ep.id);
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
    recentFailures: c.recentFailures,
  };
}
