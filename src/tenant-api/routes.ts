// The tenant API's routes, relative to /tenants/:tenant: what an API token (and, through the
// portal's forms, a portal session) may do with its own tenant. The caller has already checked
// the credential, that :tenant is its tenant, and that a read-only credential only reads.
import { Router, type Request } from 'express';
import type { TenantPrincipal } from '../access/principal.js';
import { ID_PATTERN } from '../tenants/schema.js';
import type { TenantDeliveries } from './deliveries.js';
import type { TenantEndpoints } from './endpoints.js';
import { notFound } from './errors.js';
import { bodyOf, handle, param } from './respond.js';

export interface TenantRouteDeps {
  endpoints: TenantEndpoints;
  deliveries: TenantDeliveries;
}

export function principalOf(res: { locals: Record<string, unknown> }): TenantPrincipal {
  return res.locals['principal'] as TenantPrincipal;
}

/** The endpoint id in the URL; a malformed one cannot exist, so it is a 404 like any unknown id. */
function endpointId(req: Request): string {
  const id = param(req, 'endpoint');
  if (!ID_PATTERN.test(id)) throw notFound(`endpoint "${id.slice(0, 64)}"`);
  return id;
}

export function tenantRoutes({ endpoints, deliveries }: TenantRouteDeps): Router {
  const r = Router({ mergeParams: true });

  r.get(
    '/endpoints',
    handle(async (_req, res) => void res.json({ endpoints: await endpoints.list(principalOf(res).tenant) })),
  );
  r.post(
    '/endpoints',
    handle(async (req, res) => void res.status(201).json(await endpoints.create(principalOf(res), bodyOf(req)))),
  );
  r.get(
    '/endpoints/:endpoint',
    handle(async (req, res) => void res.json(await endpoints.get(principalOf(res).tenant, endpointId(req)))),
  );
  r.patch(
    '/endpoints/:endpoint',
    handle(async (req, res) => void res.json(await endpoints.update(principalOf(res), endpointId(req), bodyOf(req)))),
  );
  r.delete(
    '/endpoints/:endpoint',
    handle(async (req, res) => {
      await endpoints.remove(principalOf(res), endpointId(req));
      res.status(204).end();
    }),
  );
  r.get(
    '/endpoints/:endpoint/health',
    handle(async (req, res) => void res.json((await endpoints.get(principalOf(res).tenant, endpointId(req))).health)),
  );
  r.post(
    '/endpoints/:endpoint/rotate-secret',
    handle(async (req, res) => void res.json(await endpoints.rotate(principalOf(res), endpointId(req), bodyOf(req)))),
  );
  r.get(
    '/endpoints/:endpoint/public-keys',
    handle(async (req, res) => void res.json(await endpoints.publicKeys(principalOf(res).tenant, endpointId(req)))),
  );
  r.post(
    '/endpoints/:endpoint/test',
    handle(async (req, res) => void res.status(202).json(await endpoints.test(principalOf(res), endpointId(req)))),
  );
  r.post(
    '/endpoints/:endpoint/recover',
    handle(async (req, res) => void res.json(await deliveries.recover(principalOf(res), endpointId(req), bodyOf(req)))),
  );
  r.get(
    '/deliveries',
    handle(
      async (req, res) =>
        void res.json(await deliveries.search(principalOf(res).tenant, req.query as Record<string, unknown>)),
    ),
  );
  r.get(
    '/events/:id',
    handle(async (req, res) => void res.json(await deliveries.event(principalOf(res).tenant, param(req, 'id')))),
  );
  r.post(
    '/replay',
    handle(async (req, res) => {
      const out = await deliveries.replay(principalOf(res), bodyOf(req));
      res.status(out.dryRun ? 200 : 202).json(out);
    }),
  );
  return r;
}
