// Which environment variables an endpoint may sign with. `secretEnv` is chosen by whoever
// registers the endpoint; without a tenant-bound rule an endpoint of tenant globex could name
// acme's variable and have its own bodies signed with acme's secret (a signing oracle). So a
// tenant's endpoints may name only `WSS_SECRET_<TENANT>_…`, <TENANT> being the tenant id
// upper-cased with every character other than A-Z and 0-9 as `_`. Registration refuses other
// names (schema.ts, admin API, rotate-secret); the signer refuses them too, for endpoints
// stored before the rule (docs/signatures.md#upgrading). Pure.

/** `WSS_SECRET_<TENANT>_`: what every secretEnv of `tenant` starts with. */
export function secretEnvPrefix(tenant: string): string {
  return `WSS_SECRET_${tenant.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`;
}

/** True when `name` is one of `tenant`'s variables (and more than the bare prefix). */
export function ownsSecretEnv(tenant: string, name: string): boolean {
  const prefix = secretEnvPrefix(tenant);
  return name.startsWith(prefix) && name.length > prefix.length;
}

/** Why `name` is refused for `tenant`: names the allowed prefix (never a value). */
export function foreignSecretEnvReason(tenant: string, name: string): string {
  return `${name} is not a variable of tenant "${tenant}": its endpoints may only name variables starting with ${secretEnvPrefix(tenant)}`;
}

/** The refusal in full, naming tenant, endpoint, field and the allowed prefix. */
export function foreignSecretEnvMessage(tenant: string, endpoint: string, field: string, name: string): string {
  return `tenant "${tenant}" endpoint "${endpoint}" field "${field}": ${foreignSecretEnvReason(tenant, name)}`;
}

interface SecretEnvFields {
  secretEnv?: unknown;
  previousSecretEnv?: unknown;
  secrets?: unknown;
  previousSecrets?: unknown;
}

/**
 * Every variable name an endpoint (input form or stored form) names, with the field it is in,
 * as the input spells it: `secretEnv`, `previousSecretEnv`, `secrets.1.secretEnv`,
 * `previousSecrets.0.secretEnv`.
 */
export function namedSecretEnvs(ep: SecretEnvFields): Array<{ field: string; name: string }> {
  const out: Array<{ field: string; name: string }> = [];
  const add = (field: string, v: unknown) => {
    if (typeof v === 'string') out.push({ field, name: v });
  };
  add('secretEnv', ep.secretEnv);
  add('previousSecretEnv', ep.previousSecretEnv);
  for (const list of ['secrets', 'previousSecrets'] as const) {
    const entries = ep[list];
    if (Array.isArray(entries))
      entries.forEach((e: unknown, i) =>
        add(`${list}.${i}.secretEnv`, (e as { secretEnv?: unknown } | null)?.secretEnv),
      );
  }
  return out;
}

/** The names of `ep` that `tenant` does not own, each with its field. */
export function foreignSecretEnvs(tenant: string, ep: SecretEnvFields): Array<{ field: string; name: string }> {
  return namedSecretEnvs(ep).filter((n) => !ownsSecretEnv(tenant, n.name));
}

/** Why a stored endpoint may not sign (names another tenant's variable), or undefined. */
export function foreignSecretEnvProblem(tenant: string, endpoint: string, ep: SecretEnvFields): string | undefined {
  const bad = foreignSecretEnvs(tenant, ep)[0];
  return bad === undefined ? undefined : foreignSecretEnvMessage(tenant, endpoint, bad.field, bad.name);
}

/**
 * A stored endpoint as a process holds it: one naming another tenant's variable is marked
 * `broken` (in memory only), so the bridge dead-letters its events with the reason and the
 * admin API shows it, instead of queueing deliveries the worker would refuse to sign.
 */
export function markForeignSecretEnv<T extends SecretEnvFields & { id: string; broken?: unknown }>(
  tenant: string,
  ep: T,
  nowMs: number,
): T {
  if (ep.broken !== undefined) return ep;
  const problem = foreignSecretEnvProblem(tenant, ep.id, ep);
  if (problem === undefined) return ep;
  return { ...ep, broken: { reason: problem, since: new Date(nowMs).toISOString() } };
}
