// The registry's change log: every write names the tenants and endpoints it touched in a Redis
// stream whose entry ids are the registry versions (`<version>-0`). The entry is added by one
// script that also bumps the version, queued in the same MULTI as the write, so a version
// without its entry cannot exist. A process that holds version V reads the entries after V,
// re-reads only the keys they name and is current again; it reloads in full only on a gap (the
// log trimmed past V, a version bumped by hand without an entry, or a reset such as
// `wss seed --replace`). docs/registry.md.

/** Entries kept in the log (approximately: Redis trims whole stream nodes). */
export const CHANGE_LOG_LENGTH = 10_000;
/** A change naming more keys than this is logged as a reset: every process reloads in full. */
export const MAX_KEYS_PER_CHANGE = 1_000;

// Every key carries the `{registry}` hash tag: one slot on a Redis Cluster, so the MULTI of a
// write (hash fields, version, log) is allowed there.
export function registryKeys(prefix: string) {
  const base = `${prefix}:{registry}`;
  return {
    tenants: `${base}:tenants`,
    endpoints: `${base}:endpoints`,
    version: `${base}:version`,
    changes: `${base}:changes`,
  };
}
export type RegistryKeys = ReturnType<typeof registryKeys>;

/** What one write touched: tenant ids, and endpoints as `<tenant>/<endpoint>` hash fields. */
interface Change {
  tenants: readonly string[];
  endpoints: readonly string[];
}
export type LoggedChange = Change | 'reset';

interface LogEntry {
  version: number;
  change: LoggedChange;
}

/** Bumps the version and appends the entry under it. A log ahead of the counter (the counter
 * deleted by hand) is started afresh: readers see a gap and reload in full. */
export const LOG_CHANGE_SCRIPT = `
local v = redis.call('INCR', KEYS[1])
local id = v .. '-0'
local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], id, 'c', ARGV[2])
if type(added) == 'table' and added.err then
  redis.call('DEL', KEYS[2])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], id, 'c', ARGV[2])
end
return v`;

export function encodeChange(change: LoggedChange): string {
  if (change === 'reset' || change.tenants.length + change.endpoints.length > MAX_KEYS_PER_CHANGE)
    return '{"reset":true}';
  return JSON.stringify({ t: change.tenants, e: change.endpoints });
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** An unreadable payload counts as a reset: the reader then reloads in full, never guesses. */
export function decodeChange(payload: string | undefined): LoggedChange {
  try {
    const v = JSON.parse(payload ?? '') as { t?: unknown; e?: unknown; reset?: unknown };
    if (v.reset === undefined && isStrings(v.t) && isStrings(v.e)) return { tenants: v.t, endpoints: v.e };
  } catch {
    // falls through to reset
  }
  return 'reset';
}

/** XRANGE's reply → entries. */
export function parseLogEntries(raw: ReadonlyArray<[string, string[]]>): LogEntry[] {
  return raw.map(([id, fields]) => {
    const c = fields.indexOf('c');
    return { version: Number(id.slice(0, id.indexOf('-'))), change: decodeChange(c >= 0 ? fields[c + 1] : undefined) };
  });
}

interface CatchUp {
  /** The version the snapshot reaches once the keys below are re-read. */
  version: number;
  tenants: Set<string>;
  endpoints: Set<string>;
}

/**
 * The keys to re-read to go from version `from` to the last entry given, or 'gap' when the
 * entries do not continue `from` one version at a time (trimmed, bumped without an entry) or
 * one of them is a reset.
 */
export function catchUp(from: number, entries: readonly LogEntry[]): CatchUp | 'gap' {
  if (entries.length === 0) return 'gap';
  const out: CatchUp = { version: from, tenants: new Set(), endpoints: new Set() };
  for (const { version, change } of entries) {
    if (version !== out.version + 1 || change === 'reset') return 'gap';
    out.version = version;
    for (const t of change.tenants) out.tenants.add(t);
    for (const e of change.endpoints) out.endpoints.add(e);
  }
  return out;
}
