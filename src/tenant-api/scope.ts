// The checks every tenant request passes once its credential is known, shared by the API
// (tokens) and the portal (sessions): the per-tenant rate limit, the tenant in the URL being
// the credential's own (else 404, the same answer as for a tenant that does not exist, so a
// tenant learns nothing about others), and read-only credentials only reading.
import type { RequestHandler } from 'express';
import type { Access } from '../access/access.js';
import type { TenantPrincipal } from '../access/principal.js';
import type { Registry } from '../tenants/registry.js';
import { fail, param } from './respond.js';

const READS = new Set(['GET', 'HEAD']);

/** 429 with Retry-After once the principal's tenant is over WSS_TENANT_RATE_LIMIT this minute. */
export function tenantRateLimit(
  access: Access,
  principal: (res: { locals: Record<string, unknown> }) => TenantPrincipal,
): RequestHandler {
  return async (_req, res, next) => {
    const verdict = await access.rate.take(principal(res).tenant);
    if (verdict.ok) return next();
    res.set('Retry-After', String(Math.ceil(verdict.retryAfterMs / 1_000)));
    fail(res, 429, 'too many requests for this tenant; try again later (WSS_TENANT_RATE_LIMIT)');
  };
}

/** Whether `tenant` is the principal's and still registered. */
export function ownTenant(registry: Registry, p: TenantPrincipal, tenant: string | undefined): boolean {
  return tenant === p.tenant && registry.snapshot().tenants.has(tenant);
}

/** For routes under /tenants/:tenant: another tenant's (or an unknown one's) answer 404. */
export function tenantScope(
  registry: Registry,
  principal: (res: { locals: Record<string, unknown> }) => TenantPrincipal,
): RequestHandler {
  return (req, res, next) => {
    if (ownTenant(registry, principal(res), param(req, 'tenant'))) return next();
    fail(res, 404, 'not found');
  };
}

/** 403 for a write with a read-only credential. */
export function readOnlyGuard(
  principal: (res: { locals: Record<string, unknown> }) => TenantPrincipal,
): RequestHandler {
  return (req, res, next) => {
    if (!principal(res).readOnly || READS.has(req.method)) return next();
    fail(res, 403, `this ${principal(res).kind === 'token' ? 'token' : 'session'} is read-only`);
  };
}
