// Where tenant access lives in Redis: API tokens, portal links and sessions, the operator's
// per-tenant allowances and the per-tenant request counters. One hash tag, {access}, so a
// token's record and its tenant's index change in one MULTI on a Redis Cluster too. Secrets
// never appear in a key: tokens, link codes and session ids are stored under their SHA-256.
export interface AccessKeys {
  /** STRING: a token's record, keyed by the token's hash (what a request is checked against). */
  token(hash: string): string;
  /** HASH: token id → record with its hash, one per tenant (listing and revoking). */
  tenantTokens(tenant: string): string;
  /** STRING: a portal link's record, keyed by the code's hash; GETDEL consumes it. */
  link(hash: string): string;
  /** STRING: a portal session, keyed by the session id's hash. */
  session(hash: string): string;
  /** HASH: tenant → the operator's allowances (policy.ts). */
  policies: string;
  /** STRING counter: a tenant's requests in one rate window. */
  rate(tenant: string, window: number): string;
}

export function accessKeys(prefix: string): AccessKeys {
  const base = `${prefix}:{access}`;
  return {
    token: (hash) => `${base}:token:${hash}`,
    tenantTokens: (tenant) => `${base}:tokens:${tenant}`,
    link: (hash) => `${base}:link:${hash}`,
    session: (hash) => `${base}:session:${hash}`,
    policies: `${base}:policies`,
    rate: (tenant, window) => `${base}:rate:${tenant}:${window}`,
  };
}
