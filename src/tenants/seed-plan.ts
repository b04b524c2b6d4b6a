// What `wss seed` changes, worked out before anything is written (pure): per endpoint, created,
// updated (which fields), unchanged or removed (`--replace`), and whether the file's secret would
// replace the stored one. A stored secret that differs from the file's is, in practice, one that
// `wss rotate-secret` or the admin API put there after the file was written: seeding the file
// used to bring the old secret back without a word. Such a seed is refused unless forced.
import type { EndpointConfig, TenantsFile } from './schema.js';

/** The fields that hold secrets: compared as one (the active secret), never listed by value. */
const SECRET_FIELDS = new Set(['secret', 'secretEnv', 'previousSecrets']);

export type EndpointChange =
  | { kind: 'created'; key: string }
  | { kind: 'updated'; key: string; fields: string[]; secretReplaced: boolean }
  | { kind: 'unchanged'; key: string }
  | { kind: 'removed'; key: string };

export interface SeedPlan {
  /** What to write, per tenant and endpoint. */
  writes: Array<{ tenant: string; key: string; ep: EndpointConfig }>;
  /** One per endpoint of the file (in file order), then the removed ones. */
  changes: EndpointChange[];
  /** Endpoints whose stored active secret the file would replace. */
  secretReplaced: string[];
}

/** JSON with object keys sorted, so two equal configs compare equal whatever their key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val !== null && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : val,
  );
}

/** The active secret: its value, or the variable it is read from. */
const activeSecret = (ep: EndpointConfig) => (ep.secret !== undefined ? `s:${ep.secret}` : `e:${ep.secretEnv ?? ''}`);

/** The non-secret fields whose values differ, sorted. */
function changedFields(stored: EndpointConfig, next: EndpointConfig): string[] {
  const names = new Set([...Object.keys(stored), ...Object.keys(next)]);
  const a = stored as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  return [...names].filter((k) => !SECRET_FIELDS.has(k) && canonical(a[k]) !== canonical(b[k])).sort();
}

/**
 * `stored` holds the registry's (decoded) endpoints under `tenant/endpoint`: those the file
 * names, and with `replace` every stored one. An endpoint whose file secret is the stored active
 * one keeps its stored previous secrets when the file gives none (a rotation's overlap is not
 * cut short by seeding a file that was updated to the new secret).
 */
export function planSeed(file: TenantsFile, stored: ReadonlyMap<string, EndpointConfig>, replace: boolean): SeedPlan {
  const plan: SeedPlan = { writes: [], changes: [], secretReplaced: [] };
  const named = new Set<string>();
  for (const t of file.tenants) {
    for (const fileEp of t.endpoints) {
      const key = `${t.id}/${fileEp.id}`;
      named.add(key);
      const cur = stored.get(key);
      let ep = fileEp;
      if (cur === undefined) {
        plan.changes.push({ kind: 'created', key });
      } else {
        const sameSecret = activeSecret(cur) === activeSecret(fileEp);
        if (sameSecret && fileEp.previousSecrets === undefined && cur.previousSecrets !== undefined)
          ep = { ...fileEp, previousSecrets: cur.previousSecrets };
        const fields = changedFields(cur, ep);
        if (sameSecret && canonical(cur.previousSecrets) !== canonical(ep.previousSecrets))
          fields.push('previousSecrets');
        if (!sameSecret) plan.secretReplaced.push(key);
        plan.changes.push(
          fields.length === 0 && sameSecret
            ? { kind: 'unchanged', key }
            : { kind: 'updated', key, fields, secretReplaced: !sameSecret },
        );
      }
      plan.writes.push({ tenant: t.id, key, ep });
    }
  }
  if (replace)
    for (const key of [...stored.keys()].sort()) if (!named.has(key)) plan.changes.push({ kind: 'removed', key });
  return plan;
}

/** Counts per kind, for the summary line. */
export function countChanges(changes: readonly EndpointChange[]): Record<EndpointChange['kind'], number> {
  const out = { created: 0, updated: 0, unchanged: 0, removed: 0 };
  for (const c of changes) out[c.kind]++;
  return out;
}

/** One line per endpoint the seed changes (unchanged ones are only counted), e.g.
 * `updated acme/orders: url, filter; secret replaced`. Keys are ids (checked), never secrets. */
export function describeChanges(changes: readonly EndpointChange[]): string[] {
  return changes.flatMap((c) => {
    if (c.kind === 'unchanged') return [];
    if (c.kind !== 'updated') return [`${c.kind} ${c.key}`];
    const parts = [
      ...(c.fields.length > 0 ? [c.fields.join(', ')] : []),
      ...(c.secretReplaced ? ['secret replaced'] : []),
    ];
    return [`updated ${c.key}: ${parts.join('; ')}`];
  });
}
