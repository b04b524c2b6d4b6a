// Who is asking, once a tenant credential checked out: the tenant, the credential's public id
// (a token's `tok_…`, a session's `ses_…`; never the secret) and whether it may write. Logs
// name a request by `who(p)`.
export interface TenantPrincipal {
  tenant: string;
  kind: 'token' | 'session';
  /** Public id of the credential. */
  id: string;
  readOnly: boolean;
}

/** The fields every tenant log line carries. */
export function who(p: TenantPrincipal): { tenant: string; credential: string; via: 'token' | 'session' } {
  return { tenant: p.tenant, credential: p.id, via: p.kind };
}
