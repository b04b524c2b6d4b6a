// Writing a whole tenants file into the registry: `wss seed` (upsert, or replace) and
// `TENANTS_FILE` at start (only what is missing). Each is one MULTI with its change-log entry.
import type { RedisClient } from '../redis/client.js';
import type { LoggedChange, RegistryKeys } from './registry-log.js';
import type { TenantMeta } from './registry-snapshot.js';
import type { EndpointConfig, TenantConfig, TenantsFile } from './schema.js';

export interface RegistryWriter {
  redis: RedisClient;
  keys: RegistryKeys;
  /** The endpoint's stored JSON (secrets encrypted if configured). */
  encode(tenant: string, ep: EndpointConfig): string;
  /** Queues the version bump and the log entry on the MULTI. */
  logChange(m: ReturnType<RedisClient['multi']>, change: LoggedChange): void;
}

export interface SeedNewResult {
  created: { tenants: number; endpoints: number };
  kept: { tenants: number; endpoints: number };
}

function tenantMeta(t: TenantConfig): TenantMeta {
  return t.name === undefined ? { id: t.id } : { id: t.id, name: t.name };
}

const field = (tenant: string, endpoint: string) => `${tenant}/${endpoint}`;

export async function seedFile(
  w: RegistryWriter,
  file: TenantsFile,
  replace: boolean,
): Promise<{ tenants: number; endpoints: number }> {
  const m = w.redis.multi();
  if (replace) m.del(w.keys.tenants, w.keys.endpoints);
  const tenants: string[] = [];
  const endpoints: string[] = [];
  for (const t of file.tenants) {
    m.hset(w.keys.tenants, t.id, JSON.stringify(tenantMeta(t)));
    tenants.push(t.id);
    for (const ep of t.endpoints) {
      m.hset(w.keys.endpoints, field(t.id, ep.id), w.encode(t.id, ep));
      endpoints.push(field(t.id, ep.id));
    }
  }
  // A replace removes what the file lacks, which no list of keys names: every process reloads.
  w.logChange(m, replace ? 'reset' : { tenants, endpoints });
  await execOrThrow(m);
  return { tenants: file.tenants.length, endpoints: endpoints.length };
}

/**
 * Adds only what the registry lacks: absent tenants and endpoints are created, existing ones
 * are left exactly as they are (the admin API may have changed them). The keys found absent
 * are written with HSETNX (a key created meanwhile by another writer is kept) in one MULTI and
 * logged; when nothing is absent (a replica restarting) nothing is written, so the other
 * processes have nothing to re-read.
 */
export async function seedMissing(w: RegistryWriter, file: TenantsFile): Promise<SeedNewResult> {
  const endpoints = file.tenants.flatMap((t) => t.endpoints.map((ep) => ({ t, ep, key: field(t.id, ep.id) })));
  const [hasTenant, hasEndpoint] = await Promise.all([
    existing(
      w.redis,
      w.keys.tenants,
      file.tenants.map((t) => t.id),
    ),
    existing(
      w.redis,
      w.keys.endpoints,
      endpoints.map((e) => e.key),
    ),
  ]);
  const newTenants = file.tenants.filter((_, i) => !hasTenant[i]);
  const newEndpoints = endpoints.filter((_, i) => !hasEndpoint[i]);
  const created = { tenants: 0, endpoints: 0 };
  if (newTenants.length + newEndpoints.length > 0) {
    const m = w.redis.multi();
    for (const t of newTenants) m.hsetnx(w.keys.tenants, t.id, JSON.stringify(tenantMeta(t)));
    for (const { t, ep, key } of newEndpoints) m.hsetnx(w.keys.endpoints, key, w.encode(t.id, ep));
    w.logChange(m, { tenants: newTenants.map((t) => t.id), endpoints: newEndpoints.map((e) => e.key) });
    const res = await execOrThrow(m);
    created.tenants = res.slice(0, newTenants.length).filter((r) => r === 1).length;
    created.endpoints = res.slice(newTenants.length, -1).filter((r) => r === 1).length;
  }
  return {
    created,
    kept: { tenants: file.tenants.length - created.tenants, endpoints: endpoints.length - created.endpoints },
  };
}

/** For each field, whether the hash has it (HMGET in chunks; the values are dropped). */
async function existing(redis: RedisClient, key: string, fields: readonly string[]): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let i = 0; i < fields.length; i += 1_000) {
    const values = await redis.hmget(key, ...fields.slice(i, i + 1_000));
    for (const v of values) out.push(v !== null);
  }
  return out;
}

export async function execOrThrow(m: ReturnType<RedisClient['multi']>): Promise<unknown[]> {
  const res = await m.exec();
  if (!res) throw new Error('registry write aborted');
  return res.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
