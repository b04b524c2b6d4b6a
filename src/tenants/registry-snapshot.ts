// The registry as a process holds it: tenants → compiled endpoints. A full load fills a fresh
// state; a change replaces only the tenants it touches. The outer map is updated in place (a
// copy would cost O(tenants) per change); each tenant's entry and endpoint map are never
// mutated once published, so a consumer holding a tenant's endpoints keeps a consistent view.
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { earliestExpiry } from '../signing/stored-secrets.js';
import { compileEndpoint, type CompiledEndpoint } from './compile.js';
import type { EndpointConfig } from './schema.js';
import { SharedParts } from './shared-parts.js';

export interface TenantMeta {
  id: string;
  name?: string | undefined;
}

export interface TenantEntry {
  meta: TenantMeta;
  endpoints: ReadonlyMap<string, CompiledEndpoint>;
}

export interface Snapshot {
  version: number;
  /** When the first previous secret in this snapshot expires (ms), for the pruning tick. */
  nextSecretExpiryMs?: number | undefined;
  /** Live: updated in place as changes arrive; each tenant's entry is replaced, never mutated. */
  tenants: ReadonlyMap<string, TenantEntry>;
}

export type Decode = (field: string, json: string) => EndpointConfig;

/** `<tenant>/<endpoint>` → its two ids. */
export function splitField(field: string): [string, string] {
  const slash = field.indexOf('/');
  return [field.slice(0, slash), field.slice(slash + 1)];
}

export class SnapshotState {
  readonly tenants = new Map<string, TenantEntry>();
  /** Endpoints with an expiring previous secret (few): field → earliest expiry. */
  private readonly expiries = new Map<string, number>();
  private nextExpiry: number | undefined;
  /** Entries created during the current batch: still private, so mutated in place. */
  private readonly fresh = new Set<TenantEntry>();
  private readonly shared = new SharedParts();
  private published: Snapshot = { version: -1, tenants: this.tenants };
  version = -1;

  constructor(
    private readonly decode: Decode,
    private readonly log?: Logger,
  ) {}

  snapshot(): Snapshot {
    return this.published;
  }

  /** Fields of endpoints whose previous secrets have expired at `nowMs`. */
  expiredAt(nowMs: number): string[] {
    return [...this.expiries].filter(([, at]) => at <= nowMs).map(([f]) => f);
  }

  /** A tenant's JSON from the hash, or null when it is gone (its endpoints go with it). */
  setTenant(id: string, json: string | null): void {
    const old = this.tenants.get(id);
    if (json === null) {
      if (!old) return;
      for (const ep of old.endpoints.keys()) this.noteExpiry(`${id}/${ep}`, undefined);
      this.tenants.delete(id);
      return;
    }
    const entry: TenantEntry = { meta: this.meta(id, json), endpoints: old?.endpoints ?? new Map() };
    if (!old) this.fresh.add(entry);
    this.tenants.set(id, entry);
  }

  /** An endpoint's JSON from the hash, or null when it is gone. Ignored when its tenant is unknown (as in a full load). */
  setEndpoint(field: string, json: string | null): void {
    const [tenantId, id] = splitField(field);
    const tenant = this.tenants.get(tenantId);
    if (!tenant) return;
    const compiled = json === null ? undefined : this.compile(field, json);
    if (!compiled && !tenant.endpoints.has(id)) return;
    const endpoints = this.writable(tenantId, tenant);
    if (compiled) endpoints.set(id, compiled);
    else endpoints.delete(id);
    this.noteExpiry(field, compiled ? earliestExpiry(compiled.config) : undefined);
  }

  /** Ends a batch: what it built is published (never mutated from now on). */
  publish(version: number): void {
    this.version = version;
    this.fresh.clear();
    this.published = { version, tenants: this.tenants, nextSecretExpiryMs: this.nextExpiry };
  }

  private meta(id: string, json: string): TenantMeta {
    try {
      return JSON.parse(json) as TenantMeta;
    } catch (err) {
      // A hand-edited value: the tenant keeps its endpoints, and a throw here would stop every load.
      this.log?.error({ tenant: id, err: errorMessage(err) }, 'registry: unreadable tenant record; using its id alone');
      return { id };
    }
  }

  private compile(field: string, json: string): CompiledEndpoint | undefined {
    try {
      return compileEndpoint(this.decode(field, json), this.shared);
    } catch (err) {
      // Validated on the way in; only a hand-edited Redis value lands here (and is left out).
      this.log?.error({ endpoint: field, err: errorMessage(err) }, 'registry: unreadable endpoint skipped');
      return undefined;
    }
  }

  /** The tenant's endpoint map to change: its own if private to this batch, else a copy. */
  private writable(id: string, tenant: TenantEntry): Map<string, CompiledEndpoint> {
    if (this.fresh.has(tenant)) return tenant.endpoints as Map<string, CompiledEndpoint>;
    const copy: TenantEntry = { meta: tenant.meta, endpoints: new Map(tenant.endpoints) };
    this.fresh.add(copy);
    this.tenants.set(id, copy);
    return copy.endpoints as Map<string, CompiledEndpoint>;
  }

  private noteExpiry(field: string, at: number | undefined): void {
    const had = this.expiries.get(field);
    if (had === at) return;
    if (at === undefined) this.expiries.delete(field);
    else this.expiries.set(field, at);
    // Recomputed over the (few) expiring endpoints, not over the registry.
    if (at !== undefined && (this.nextExpiry === undefined || at < this.nextExpiry)) this.nextExpiry = at;
    else if (had !== undefined && had === this.nextExpiry) {
      this.nextExpiry = undefined;
      for (const v of this.expiries.values())
        if (this.nextExpiry === undefined || v < this.nextExpiry) this.nextExpiry = v;
    }
  }
}
