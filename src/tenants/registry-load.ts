// Reading the registry from Redis: in full (HSCAN in chunks, so neither Redis nor the process
// handles one reply the size of the registry) or by the change log (only the keys it names).
import type { RedisClient } from '../redis/client.js';
import { catchUp, CHANGE_LOG_LENGTH, parseLogEntries, type RegistryKeys } from './registry-log.js';
import { SnapshotState, type Decode } from './registry-snapshot.js';
import type { Logger } from '../lib/log.js';

/** Fields per HSCAN call in a full load. */
const SCAN_CHUNK = 1_000;

export async function readVersion(redis: RedisClient, keys: RegistryKeys): Promise<number> {
  return Number((await redis.get(keys.version)) ?? 0);
}

async function scanHash(
  redis: RedisClient,
  key: string,
  each: (field: string, value: string) => void,
): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, flat] = await redis.hscan(key, cursor, 'COUNT', SCAN_CHUNK);
    cursor = next;
    for (let i = 0; i < flat.length; i += 2) each(flat[i]!, flat[i + 1]!);
    n += flat.length / 2;
  } while (cursor !== '0');
  return n;
}

/**
 * The whole registry. The version is read first: a write landing during the scan is then in
 * the log after it, and the next poll re-reads its keys (a re-read is idempotent), so the
 * scan need not be atomic. HSCAN may return a field twice; setting it twice is harmless.
 */
export async function loadFull(
  redis: RedisClient,
  keys: RegistryKeys,
  decode: Decode,
  log?: Logger,
): Promise<{ state: SnapshotState; endpoints: number }> {
  const state = new SnapshotState(decode, log);
  const version = await readVersion(redis, keys);
  await scanHash(redis, keys.tenants, (id, json) => state.setTenant(id, json));
  const endpoints = await scanHash(redis, keys.endpoints, (field, json) => state.setEndpoint(field, json));
  state.publish(version);
  return { state, endpoints };
}

interface Applied {
  version: number;
  tenants: number;
  endpoints: number;
}

/**
 * Brings `state` from its version to `target` (or a little past it) through the change log;
 * 'gap' when the log cannot (trimmed past the state's version, a bump without an entry, a
 * reset). Values may be newer than the version reached; later entries re-read them again.
 */
export async function applyLog(
  redis: RedisClient,
  keys: RegistryKeys,
  state: SnapshotState,
  target: number,
): Promise<Applied | 'gap'> {
  const behind = target - state.version;
  if (behind <= 0 || behind > CHANGE_LOG_LENGTH) return 'gap';
  const raw = (await redis.xrange(keys.changes, `${state.version + 1}-0`, '+', 'COUNT', behind)) as Array<
    [string, string[]]
  >;
  const plan = catchUp(state.version, parseLogEntries(raw));
  if (plan === 'gap') return 'gap';
  const tenants = [...plan.tenants];
  const endpoints = [...plan.endpoints];
  // Both hashes read in one MULTI: a tenant and its endpoints are seen at the same instant.
  const m = redis.multi();
  if (tenants.length > 0) m.hmget(keys.tenants, ...tenants);
  if (endpoints.length > 0) m.hmget(keys.endpoints, ...endpoints);
  const res = tenants.length + endpoints.length > 0 ? await m.exec() : [];
  if (!res) throw new Error('registry read aborted');
  const values = res.map(([err, v]) => {
    if (err) throw err;
    return v as Array<string | null>;
  });
  const tenantValues = tenants.length > 0 ? values.shift()! : [];
  const endpointValues = endpoints.length > 0 ? values.shift()! : [];
  // Tenants first: an endpoint of a tenant created by the same change needs its tenant.
  tenants.forEach((id, i) => state.setTenant(id, tenantValues[i] ?? null));
  endpoints.forEach((field, i) => state.setEndpoint(field, endpointValues[i] ?? null));
  state.publish(plan.version);
  return { version: plan.version, tenants: tenants.length, endpoints: endpoints.length };
}
