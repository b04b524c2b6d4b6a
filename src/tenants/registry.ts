// The tenant registry, kept in Redis so every replica sees the same tenants. Each process
// holds a compiled snapshot and polls a version counter, so a change made by `wss seed` or
// the admin API reaches every process within WSS_REGISTRY_POLL_MS (1 s by default).
import { duplicateClient, type RedisClient } from '../redis.js';
import type { SecretsKey } from '../config.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import {
  decodeEndpoint,
  earliestExpiry,
  encodeEndpoint,
  hasUndecryptable,
  withoutExpired,
} from '../signing/stored-secrets.js';
import { compileEndpoint, type CompiledEndpoint } from './compile.js';
import type { EndpointConfig, TenantConfig, TenantsFile } from './schema.js';

export interface TenantMeta {
  id: string;
  name?: string | undefined;
}

export interface Snapshot {
  version: number;
  /** When the first previous secret in this snapshot expires (ms), for the pruning tick. */
  nextSecretExpiryMs?: number | undefined;
  tenants: ReadonlyMap<string, { meta: TenantMeta; endpoints: ReadonlyMap<string, CompiledEndpoint> }>;
}

// `{registry}` would keep these keys (and the MULTI below) in one slot on a Redis Cluster; Cluster
// itself is not supported yet (docs/design.md, Known limits).
export function registryKeys(prefix: string) {
  const base = `${prefix}:{registry}`;
  return { tenants: `${base}:tenants`, endpoints: `${base}:endpoints`, version: `${base}:version` };
}

const field = (tenant: string, endpoint: string) => `${tenant}/${endpoint}`;

export interface RegistryOptions {
  /** WSS_SECRETS_KEY: encrypts inline endpoint secrets in Redis. */
  secretsKeys?: readonly SecretsKey[] | undefined;
  now?: () => number;
}

type Decode = (key: string, json: string) => EndpointConfig;

function buildSnapshot(
  version: number,
  tenants: Record<string, string>,
  endpoints: Record<string, string>,
  decode: Decode,
  log?: Logger,
): Snapshot {
  let nextSecretExpiryMs: number | undefined;
  const map = new Map<string, { meta: TenantMeta; endpoints: Map<string, CompiledEndpoint> }>();
  for (const [id, json] of Object.entries(tenants))
    map.set(id, { meta: JSON.parse(json) as TenantMeta, endpoints: new Map() });
  for (const [key, json] of Object.entries(endpoints)) {
    const slash = key.indexOf('/');
    const tenant = map.get(key.slice(0, slash));
    if (!tenant) continue;
    try {
      const ep = decode(key, json);
      tenant.endpoints.set(ep.id, compileEndpoint(ep));
      const exp = earliestExpiry(ep);
      if (exp !== undefined && (nextSecretExpiryMs === undefined || exp < nextSecretExpiryMs)) nextSecretExpiryMs = exp;
    } catch (err) {
      // Validated on the way in; only a hand-edited Redis value lands here.
      log?.error({ endpoint: key, err: errorMessage(err) }, 'registry: unreadable endpoint skipped');
    }
  }
  return { version, tenants: map, nextSecretExpiryMs };
}

export class Registry {
  private readonly keys: ReturnType<typeof registryKeys>;
  private current: Snapshot = { version: -1, tenants: new Map() };
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  private readonly secretsKeys: readonly SecretsKey[] | undefined;
  private readonly now: () => number;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly log?: Logger,
    opts: RegistryOptions = {},
  ) {
    this.keys = registryKeys(prefix);
    this.secretsKeys = opts.secretsKeys;
    this.now = opts.now ?? Date.now;
  }

  /** Endpoint JSON for the hash: expired previous secrets dropped, inline secrets encrypted if configured. */
  private encode(tenant: string, ep: EndpointConfig): string {
    return encodeEndpoint(ep, field(tenant, ep.id), this.secretsKeys, this.now());
  }

  private readonly decode: Decode = (key, json) => decodeEndpoint(json, key, this.secretsKeys);

  /** The snapshot in memory; call start() or refresh() first. */
  snapshot(): Snapshot {
    return this.current;
  }

  endpoint(tenant: string, endpoint: string): CompiledEndpoint | undefined {
    return this.current.tenants.get(tenant)?.endpoints.get(endpoint);
  }

  /** Loads the registry now if its version moved (or always with force). */
  async refresh(force = false): Promise<Snapshot> {
    const version = Number((await this.redis.get(this.keys.version)) ?? 0);
    if (!force && version === this.current.version) return this.current;
    const res = await this.redis
      .multi()
      .get(this.keys.version)
      .hgetall(this.keys.tenants)
      .hgetall(this.keys.endpoints)
      .exec();
    if (!res) throw new Error('registry read aborted');
    const [[e1, v], [e2, t], [e3, e]] = res as [
      [Error | null, string | null],
      [Error | null, Record<string, string>],
      [Error | null, Record<string, string>],
    ];
    const err = e1 ?? e2 ?? e3;
    if (err) throw err;
    this.current = buildSnapshot(Number(v ?? 0), t, e, this.decode, this.log);
    return this.current;
  }

  async start(pollMs: number): Promise<void> {
    await this.refresh(true);
    this.timer = setInterval(() => {
      if (this.polling) return;
      this.polling = true;
      this.refresh()
        .then((snap) =>
          snap.nextSecretExpiryMs !== undefined && snap.nextSecretExpiryMs <= this.now()
            ? this.pruneExpiredSecrets()
            : undefined,
        )
        .catch((err: unknown) =>
          this.log?.warn({ err: errorMessage(err) }, 'registry: refresh failed, keeping the last snapshot'),
        )
        .finally(() => (this.polling = false));
    }, pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Upserts the file's tenants and endpoints; with replace, the registry becomes exactly the file. */
  async seed(file: TenantsFile, opts: { replace: boolean }): Promise<{ tenants: number; endpoints: number }> {
    const m = this.redis.multi();
    if (opts.replace) m.del(this.keys.tenants, this.keys.endpoints);
    let endpoints = 0;
    for (const t of file.tenants) {
      m.hset(this.keys.tenants, t.id, JSON.stringify(tenantMeta(t)));
      for (const ep of t.endpoints) {
        m.hset(this.keys.endpoints, field(t.id, ep.id), this.encode(t.id, ep));
        endpoints++;
      }
    }
    m.incr(this.keys.version);
    await execOrThrow(m);
    await this.refresh(true);
    return { tenants: file.tenants.length, endpoints };
  }

  /**
   * Adds only what the registry lacks: absent tenants and endpoints are created, existing ones
   * are left exactly as they are (the admin API may have changed them). One MULTI of HSETNX.
   * For `TENANTS_FILE` at start; `wss seed` keeps its upsert.
   */
  async seedNew(
    file: TenantsFile,
  ): Promise<{ created: { tenants: number; endpoints: number }; kept: { tenants: number; endpoints: number } }> {
    const m = this.redis.multi();
    const kinds: Array<'tenants' | 'endpoints'> = [];
    for (const t of file.tenants) {
      m.hsetnx(this.keys.tenants, t.id, JSON.stringify(tenantMeta(t)));
      kinds.push('tenants');
      for (const ep of t.endpoints) {
        m.hsetnx(this.keys.endpoints, field(t.id, ep.id), this.encode(t.id, ep));
        kinds.push('endpoints');
      }
    }
    m.incr(this.keys.version);
    const res = await execOrThrow(m);
    const created = { tenants: 0, endpoints: 0 };
    const kept = { tenants: 0, endpoints: 0 };
    kinds.forEach((kind, i) => (res[i] === 1 ? created : kept)[kind]++);
    await this.refresh(true);
    return { created, kept };
  }

  /** Creates the tenant if needed and sets the endpoint, atomically. Returns true if it existed. */
  async putEndpoint(tenant: string, ep: EndpointConfig): Promise<boolean> {
    const existed = (await this.redis.hexists(this.keys.endpoints, field(tenant, ep.id))) === 1;
    const m = this.redis.multi();
    m.hsetnx(this.keys.tenants, tenant, JSON.stringify({ id: tenant }));
    m.hset(this.keys.endpoints, field(tenant, ep.id), this.encode(tenant, ep));
    m.incr(this.keys.version);
    await execOrThrow(m);
    await this.refresh(true);
    return existed;
  }

  /** Reads the endpoint's stored configuration (secret included: never return it to a client). */
  async getEndpointConfig(tenant: string, endpoint: string): Promise<EndpointConfig | undefined> {
    const json = await this.redis.hget(this.keys.endpoints, field(tenant, endpoint));
    return json === null ? undefined : this.decode(field(tenant, endpoint), json);
  }

  /**
   * Read-modify-write of one endpoint under WATCH, so a 410 disabling an endpoint cannot undo
   * an operator's concurrent edit. Returns the new config, or undefined if the endpoint is gone.
   */
  async updateEndpoint(
    tenant: string,
    endpoint: string,
    change: (ep: EndpointConfig) => EndpointConfig,
  ): Promise<EndpointConfig | undefined> {
    const key = field(tenant, endpoint);
    // A dedicated connection: WATCH is per connection and this one is shared.
    const conn = duplicateClient(this.redis);
    try {
      for (let i = 0; i < 10; i++) {
        await conn.watch(this.keys.endpoints);
        const json = await conn.hget(this.keys.endpoints, key);
        if (json === null) {
          await conn.unwatch();
          return undefined;
        }
        const next = change(this.decode(key, json));
        const res = await conn
          .multi()
          .hset(this.keys.endpoints, key, this.encode(tenant, next))
          .incr(this.keys.version)
          .exec();
        if (res) {
          await this.refresh(true);
          return next;
        }
      }
      throw new Error(`registry: endpoint ${key} kept changing under update`);
    } finally {
      conn.disconnect();
    }
  }

  /** Removes expired previous secrets from Redis (each endpoint one WATCHed write). */
  async pruneExpiredSecrets(): Promise<number> {
    const nowMs = this.now();
    let pruned = 0;
    for (const [tenant, t] of this.current.tenants) {
      for (const [id, ep] of t.endpoints) {
        if (withoutExpired(ep.config, nowMs) === ep.config) continue;
        await this.updateEndpoint(tenant, id, (cur) => cur);
        pruned++;
      }
    }
    if (pruned > 0) this.log?.info({ endpoints: pruned }, 'registry: expired previous secrets removed');
    return pruned;
  }

  /**
   * Rewrites every endpoint so its inline secrets are encrypted with the first WSS_SECRETS_KEY
   * key. Endpoints whose secret is encrypted under a key id that is not configured are left
   * alone and listed.
   */
  async reencryptAll(): Promise<{ rewritten: number; unreadable: string[] }> {
    const all = await this.redis.hgetall(this.keys.endpoints);
    let rewritten = 0;
    const unreadable: string[] = [];
    for (const [key, json] of Object.entries(all)) {
      if (hasUndecryptable(this.decode(key, json))) {
        unreadable.push(key);
        continue;
      }
      const slash = key.indexOf('/');
      if ((await this.updateEndpoint(key.slice(0, slash), key.slice(slash + 1), (cur) => cur)) !== undefined)
        rewritten++;
    }
    return { rewritten, unreadable };
  }

  async deleteEndpoint(tenant: string, endpoint: string): Promise<boolean> {
    const res = await execOrThrow(
      this.redis.multi().hdel(this.keys.endpoints, field(tenant, endpoint)).incr(this.keys.version),
    );
    await this.refresh(true);
    return res[0] === 1;
  }
}

function tenantMeta(t: TenantConfig): TenantMeta {
  return t.name === undefined ? { id: t.id } : { id: t.id, name: t.name };
}

async function execOrThrow(m: ReturnType<RedisClient['multi']>): Promise<unknown[]> {
  const res = await m.exec();
  if (!res) throw new Error('registry write aborted');
  return res.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
