// Writing a whole tenants file into the registry: `wss seed` (upsert, or replace; a stored secret
// it would replace needs force) and `TENANTS_FILE` at start (only what is missing). Each is one
// MULTI with its change-log entry.
import { duplicateClient, type RedisClient } from '../redis/client.js';
import { WssError } from '../lib/errors.js';
import type { LoggedChange, RegistryKeys } from './registry-log.js';
import type { TenantMeta } from './registry-snapshot.js';
import type { EndpointConfig, TenantConfig, TenantsFile } from './schema.js';
import { planSeed, type EndpointChange } from './seed-plan.js';

export interface RegistryWriter {
  redis: RedisClient;
  keys: RegistryKeys;
  /** The endpoint's stored JSON (secrets encrypted if configured). */
  encode(tenant: string, ep: EndpointConfig): string;
  /** The stored JSON of `tenant/endpoint` back to its config (secrets decrypted). */
  decode(key: string, json: string): EndpointConfig;
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

/** What `wss seed` did: counts and the plan's per-endpoint changes (seed-plan.ts). */
export interface SeedReport {
  tenants: number;
  endpoints: number;
  changes: EndpointChange[];
}

/** A seed that would replace stored secrets without `force`: nothing was written. */
export class SeedSecretsError extends WssError {
  constructor(readonly endpoints: readonly string[]) {
    super(
      'SEED_REPLACES_SECRET',
      `nothing seeded: the file's secret differs from the stored one of ${endpoints.join(', ')} (rotated since the file was written?). Put the current secret in the file, or pass --force to replace it (receivers must then accept the file's secret at once)`,
    );
  }
}

/**
 * Upserts the file (with `replace`, the registry becomes exactly the file) after comparing it
 * with what is stored, under WATCH so a rotation made meanwhile is not overwritten unseen. A
 * stored secret the file would replace makes it throw SeedSecretsError unless `force`.
 */
export async function seedFile(
  w: RegistryWriter,
  file: TenantsFile,
  opts: { replace: boolean; force: boolean },
): Promise<SeedReport> {
  const keys = file.tenants.flatMap((t) => t.endpoints.map((ep) => field(t.id, ep.id)));
  // A dedicated connection: WATCH is per connection and the registry's is shared.
  const conn = duplicateClient(w.redis);
  try {
    for (let i = 0; i < 10; i++) {
      await conn.watch(w.keys.endpoints);
      const storedKeys = opts.replace ? await conn.hkeys(w.keys.endpoints) : keys;
      const values = await valuesOf(conn, w.keys.endpoints, storedKeys);
      const stored = new Map<string, EndpointConfig>();
      storedKeys.forEach((k, j) => values[j] != null && stored.set(k, w.decode(k, values[j]!)));
      const plan = planSeed(file, stored, opts.replace);
      if (plan.secretReplaced.length > 0 && !opts.force) {
        await conn.unwatch();
        throw new SeedSecretsError(plan.secretReplaced);
      }
      const m = conn.multi();
      if (opts.replace) m.del(w.keys.tenants, w.keys.endpoints);
      for (const t of file.tenants) m.hset(w.keys.tenants, t.id, JSON.stringify(tenantMeta(t)));
      for (const { tenant, key, ep } of plan.writes) m.hset(w.keys.endpoints, key, w.encode(tenant, ep));
      // A replace removes what the file lacks, which no list of keys names: every process reloads.
      w.logChange(m, opts.replace ? 'reset' : { tenants: file.tenants.map((t) => t.id), endpoints: keys });
      const res = await m.exec();
      if (res === null) continue;
      for (const [err] of res) if (err) throw err;
      return { tenants: file.tenants.length, endpoints: keys.length, changes: plan.changes };
    }
    throw new Error('registry: endpoints kept changing under the seed; try again');
  } finally {
    conn.disconnect();
  }
}

/** HMGET in chunks of 1,000 (a seed may name 100,000 endpoints). */
async function valuesOf(redis: RedisClient, key: string, fields: readonly string[]): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (let i = 0; i < fields.length; i += 1_000) out.push(...(await redis.hmget(key, ...fields.slice(i, i + 1_000))));
  return out;
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
