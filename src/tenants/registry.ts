// The tenant registry, kept in Redis so every replica sees the same tenants. Each process
// holds a compiled snapshot and polls a version counter, so a change made by `wss seed` or
// the admin API reaches every process within WSS_REGISTRY_POLL_MS (1 s by default). Every
// write also names what it changed in the change log (registry-log.ts), so a process catches
// up by re-reading only those keys; docs/registry.md.
import { duplicateClient, type RedisClient } from '../redis/client.js';
import type { SecretsKey } from '../config.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { registryEndpointsLoaded, registryReloads } from '../lib/metrics.js';
import { markForeignSecretEnv } from '../signing/secret-env.js';
import { decodeEndpoint, encodeEndpoint, hasUndecryptable } from '../signing/stored-secrets.js';
import type { CompiledEndpoint } from './compile.js';
import { applyLog, loadFull, readVersion } from './registry-load.js';
import {
  CHANGE_LOG_LENGTH,
  encodeChange,
  LOG_CHANGE_SCRIPT,
  registryKeys,
  type LoggedChange,
  type RegistryKeys,
} from './registry-log.js';
import { SnapshotState, splitField, type Decode, type Snapshot } from './registry-snapshot.js';
import type { EndpointConfig, TenantsFile } from './schema.js';
import { execOrThrow, seedFile, seedMissing, type RegistryWriter, type SeedNewResult } from './registry-seed.js';
import type { SeedReport } from './registry-seed.js';

export type { Snapshot, TenantEntry, TenantMeta } from './registry-snapshot.js';
export { registryKeys } from './registry-log.js';

const field = (tenant: string, endpoint: string) => `${tenant}/${endpoint}`;

interface RegistryOptions {
  /** WSS_SECRETS_KEY: encrypts inline endpoint secrets in Redis. */
  secretsKeys?: readonly SecretsKey[] | undefined;
  now?: () => number;
}

/** How much this instance has loaded: per mode, the loads and the endpoints read in them. */
interface LoadStats {
  full: { reloads: number; endpoints: number };
  incremental: { reloads: number; endpoints: number };
}

export class Registry {
  private readonly keys: RegistryKeys;
  private state: SnapshotState;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  /** Loads run one at a time: two interleaved catch-ups could publish out of order. */
  private loading: Promise<unknown> = Promise.resolve();
  private readonly stats: LoadStats = { full: { reloads: 0, endpoints: 0 }, incremental: { reloads: 0, endpoints: 0 } };

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
    this.state = new SnapshotState(this.decodeLive, log);
  }

  /** Endpoint JSON for the hash: expired previous secrets dropped, inline secrets encrypted if configured. */
  private encode(tenant: string, ep: EndpointConfig): string {
    return encodeEndpoint(ep, field(tenant, ep.id), this.secretsKeys, this.now());
  }

  private readonly decode: Decode = (key, json) => decodeEndpoint(json, key, this.secretsKeys);

  /** What the snapshot holds: an endpoint naming another tenant's secret variable is marked broken (secret-env.ts). */
  private readonly decodeLive: Decode = (key, json) =>
    markForeignSecretEnv(splitField(key)[0], this.decode(key, json), this.now());

  /** Queues the version bump and the change's log entry on a MULTI that holds the write. */
  private logChange(m: ReturnType<RedisClient['multi']>, change: LoggedChange): void {
    m.eval(LOG_CHANGE_SCRIPT, 2, this.keys.version, this.keys.changes, CHANGE_LOG_LENGTH, encodeChange(change));
  }

  /** The snapshot in memory; call start() or refresh() first. */
  snapshot(): Snapshot {
    return this.state.snapshot();
  }

  endpoint(tenant: string, endpoint: string): CompiledEndpoint | undefined {
    return this.state.tenants.get(tenant)?.endpoints.get(endpoint);
  }

  /** Loads and endpoints read by this instance, per mode (the test's and the bench's counter). */
  loadStats(): LoadStats {
    return { full: { ...this.stats.full }, incremental: { ...this.stats.incremental } };
  }

  /**
   * Brings the snapshot up to date if the version moved: through the change log when it can,
   * in full on a gap or with force.
   */
  refresh(force = false): Promise<Snapshot> {
    const run = this.loading.then(() => this.load(force));
    this.loading = run.catch(() => undefined);
    return run;
  }

  private async load(force: boolean): Promise<Snapshot> {
    const version = await readVersion(this.redis, this.keys);
    if (!force && version === this.state.version) return this.state.snapshot();
    if (!force && this.state.version >= 0 && version > this.state.version) {
      const applied = await applyLog(this.redis, this.keys, this.state, version);
      if (applied !== 'gap') {
        this.count('incremental', applied.endpoints);
        return this.state.snapshot();
      }
      this.log?.info(
        { from: this.state.version, to: version },
        'registry: the change log does not reach back to this snapshot; reloading in full',
      );
    }
    const { state, endpoints } = await loadFull(this.redis, this.keys, this.decodeLive, this.log);
    this.state = state;
    this.count('full', endpoints);
    return state.snapshot();
  }

  private count(mode: 'full' | 'incremental', endpoints: number): void {
    this.stats[mode].reloads++;
    this.stats[mode].endpoints += endpoints;
    registryReloads.labels(mode).inc();
    registryEndpointsLoaded.labels(mode).inc(endpoints);
  }

  async start(pollMs: number): Promise<void> {
    // Not forced: a snapshot loaded a moment ago (by seedNew at start) is not loaded again.
    await this.refresh();
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

  /** What the seeding functions need to write like this registry does. */
  private writer(): RegistryWriter {
    return {
      redis: this.redis,
      keys: this.keys,
      encode: (tenant, ep) => this.encode(tenant, ep),
      decode: this.decode,
      logChange: (m, change) => this.logChange(m, change),
    };
  }

  /**
   * Upserts the file's tenants and endpoints; with replace, the registry becomes exactly the
   * file. Throws SeedSecretsError, writing nothing, when it would replace a stored secret
   * without force (registry-seed.ts). Says per endpoint what it changed.
   */
  async seed(file: TenantsFile, opts: { replace: boolean; force: boolean }): Promise<SeedReport> {
    const report = await seedFile(this.writer(), file, opts);
    await this.refresh();
    return report;
  }

  /** Adds only what the registry lacks (for `TENANTS_FILE` at start); see seedMissing. */
  async seedNew(file: TenantsFile): Promise<SeedNewResult> {
    const result = await seedMissing(this.writer(), file);
    await this.refresh();
    return result;
  }

  /** Creates the tenant if needed and sets the endpoint, atomically. Returns true if it existed. */
  async putEndpoint(tenant: string, ep: EndpointConfig): Promise<boolean> {
    const existed = (await this.redis.hexists(this.keys.endpoints, field(tenant, ep.id))) === 1;
    const m = this.redis.multi();
    m.hsetnx(this.keys.tenants, tenant, JSON.stringify({ id: tenant }));
    m.hset(this.keys.endpoints, field(tenant, ep.id), this.encode(tenant, ep));
    this.logChange(m, { tenants: [tenant], endpoints: [field(tenant, ep.id)] });
    await execOrThrow(m);
    await this.refresh();
    return existed;
  }

  /** True when the tenant is registered: the bridge dead-letters events of any other as unknown_tenant. */
  async hasTenant(tenant: string): Promise<boolean> {
    return (await this.redis.hexists(this.keys.tenants, tenant)) === 1;
  }

  /** Reads the endpoint's stored configuration (secret included: never return it to a client). */
  async getEndpointConfig(tenant: string, endpoint: string): Promise<EndpointConfig | undefined> {
    const json = await this.redis.hget(this.keys.endpoints, field(tenant, endpoint));
    return json === null ? undefined : this.decode(field(tenant, endpoint), json);
  }

  /**
   * Read-modify-write of one endpoint under WATCH, so a 410 disabling an endpoint cannot undo
   * an operator's concurrent edit. Returns the new config, or undefined if the endpoint is gone.
   * Every other in-place change (auto-disable, broken mark, secret rotation, pruning,
   * re-encryption) comes through here, so each is logged for the other processes.
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
        const m = conn.multi().hset(this.keys.endpoints, key, this.encode(tenant, next));
        this.logChange(m, { tenants: [], endpoints: [key] });
        if (await m.exec()) {
          await this.refresh();
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
    let pruned = 0;
    // Only the endpoints with an expiring secret are looked at, not the registry.
    for (const key of this.state.expiredAt(this.now())) {
      const [tenant, id] = splitField(key);
      await this.updateEndpoint(tenant, id, (cur) => cur);
      pruned++;
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
      const [tenant, id] = splitField(key);
      if ((await this.updateEndpoint(tenant, id, (cur) => cur)) !== undefined) rewritten++;
    }
    return { rewritten, unreadable };
  }

  async deleteEndpoint(tenant: string, endpoint: string): Promise<boolean> {
    const m = this.redis.multi().hdel(this.keys.endpoints, field(tenant, endpoint));
    this.logChange(m, { tenants: [], endpoints: [field(tenant, endpoint)] });
    const res = await execOrThrow(m);
    await this.refresh();
    return res[0] === 1;
  }
}
