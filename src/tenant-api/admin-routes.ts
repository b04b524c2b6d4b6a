// The operator's side of tenant access (mounted under /api behind basic auth and the
// same-origin check, ahead of the admin API): a tenant's API tokens (created and shown once,
// listed without secrets, revoked), portal links, and the allowances that widen what the tenant
// may register. Routes not matched here fall through to the admin API.
import express, { Router, type Request } from 'express';
import type { Access } from '../access/access.js';
import { policyProblems } from '../access/policy.js';
import type { Logger } from '../lib/log.js';
import type { Registry } from '../tenants/registry.js';
import { ID_PATTERN } from '../tenants/schema.js';
import { TokenRequestError } from '../access/tokens.js';
import { badRequest, notFound, TenantRequestError } from './errors.js';
import { bodyOf, handle, jsonErrors, param } from './respond.js';
import { createTokenFor, portalLinkUrl } from './issue.js';

export interface AccessAdminDeps {
  access: Access;
  registry: Registry;
  log: Logger;
  /** WSS_PORTAL_PUBLIC_URL, when set: the origin portal links name. */
  publicUrl: string | undefined;
}

/** The tenant named in the URL, which must be registered. */
async function registeredTenant(registry: Registry, req: Request): Promise<string> {
  const tenant = param(req, 'tenant');
  if (!ID_PATTERN.test(tenant) || !(await registry.refresh()).tenants.has(tenant))
    throw notFound(`tenant "${tenant.slice(0, 64)}"`);
  return tenant;
}

export function accessAdminRoutes({ access, registry, log, publicUrl }: AccessAdminDeps): Router {
  const r = Router();
  const json = express.json({ limit: '16kb' });

  r.get(
    '/tenants/:tenant/tokens',
    handle(
      async (req, res) => void res.json({ tokens: await access.tokens.list(await registeredTenant(registry, req)) }),
    ),
  );
  r.post(
    '/tenants/:tenant/tokens',
    json,
    handle(async (req, res) => {
      const tenant = await registeredTenant(registry, req);
      try {
        const out = await createTokenFor(access, tenant, bodyOf(req));
        log.info(
          { tenant, token: out.id, readOnly: out.readOnly, expiresAt: out.expiresAt },
          'admin: tenant token created',
        );
        res.status(201).json(out);
      } catch (err) {
        if (err instanceof TokenRequestError) throw badRequest(err.message);
        throw err;
      }
    }),
  );
  r.delete(
    '/tenants/:tenant/tokens/:id',
    handle(async (req, res) => {
      const tenant = param(req, 'tenant');
      const id = param(req, 'id');
      if (!(await access.tokens.revoke(tenant, id)))
        throw notFound(`token "${id.slice(0, 64)}" of tenant "${tenant.slice(0, 64)}"`);
      log.info({ tenant, token: id }, 'admin: tenant token revoked');
      res.status(204).end();
    }),
  );
  r.post(
    '/tenants/:tenant/portal-links',
    json,
    handle(async (req, res) => {
      const tenant = await registeredTenant(registry, req);
      const { readOnly, ...rest } = bodyOf(req);
      const extra = Object.keys(rest);
      if (extra.length > 0) throw badRequest(...extra.map((k) => `field "${k}": unknown field (expected readOnly)`));
      if (readOnly !== undefined && typeof readOnly !== 'boolean')
        throw badRequest('field "readOnly": must be true or false');
      const { code, record } = await access.links.create(tenant, { readOnly: readOnly === true });
      const base = publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
      log.info({ tenant, link: record.id, readOnly: record.readOnly }, 'admin: portal link created');
      res.status(201).json({
        url: portalLinkUrl(base, code),
        id: record.id,
        tenant,
        readOnly: record.readOnly,
        expiresAt: record.expiresAt,
      });
    }),
  );
  r.get(
    '/tenants/:tenant/access',
    handle(async (req, res) => void res.json(await access.policies.get(await registeredTenant(registry, req)))),
  );
  r.put(
    '/tenants/:tenant/access',
    json,
    handle(async (req, res) => {
      const tenant = await registeredTenant(registry, req);
      const input = bodyOf(req);
      const problems = policyProblems(input);
      if (problems.length > 0) throw new TenantRequestError(400, problems);
      const policy = await access.policies.set(registry, tenant, input);
      log.info({ tenant, ...policy }, 'admin: tenant allowances changed');
      res.json(policy);
    }),
  );
  // Its own: the admin API's error handler, mounted after this router, never sees these errors.
  r.use(jsonErrors(log, 'admin API', '16kb'));
  return r;
}
