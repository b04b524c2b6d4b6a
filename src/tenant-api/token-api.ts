// The tenant API as API tokens reach it: mounted at /api ahead of the operator's routes, it
// takes every request that carries `Authorization: Bearer …` and lets all others through to
// basic auth. A token reaches /api/tenants/<its tenant>/… (routes.ts) and nothing else: other
// tenants' routes answer 404, every other /api route 403. Failed tokens are throttled per
// client address, requests are rate-limited per tenant, and nothing here logs a token.
import express, { Router, type Request } from 'express';
import type { Access } from '../access/access.js';
import type { Logger } from '../lib/log.js';
import type { Registry } from '../tenants/registry.js';
import { fail, jsonErrors } from './respond.js';
import { who } from '../access/principal.js';
import { principalOf } from './routes.js';
import { readOnlyGuard, tenantRateLimit, tenantScope } from './scope.js';

export const TENANT_BODY_LIMIT = '256kb';

export interface TokenApiDeps {
  /** tenantRoutes(): what a token may do under /tenants/<its tenant>. */
  routes: Router;
  access: Access;
  registry: Registry;
  log: Logger;
  now: () => number;
}

/** The token of an `Authorization: Bearer` header; '' for a malformed one; undefined for none. */
export function bearerToken(req: Request): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined || !/^Bearer(\s|$)/i.test(h)) return undefined;
  return /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i.exec(h)?.[1] ?? '';
}

/** The address a throttle counts failures against: the peer, or what a trusted proxy says. */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export function tokenApi(d: TokenApiDeps): Router {
  const { access, log, now } = d;
  const router = Router();
  router.use((req, _res, next) => next(bearerToken(req) === undefined ? 'router' : undefined));
  router.use(async (req, res, next) => {
    const client = clientAddress(req);
    const wait = access.failures.blockedFor(client, now());
    if (wait > 0) {
      res.set('Retry-After', String(Math.ceil(wait / 1_000)));
      return fail(res, 429, 'too many failed token attempts from this address; try again later');
    }
    const record = await access.tokens.check(bearerToken(req) ?? '');
    if (!record) {
      // A success does not forget earlier failures: a tenant's good token must not let it keep guessing.
      access.failures.fail(client, now());
      log.warn({ client, path: req.path }, 'tenant API: refused a token that is unknown, revoked or expired');
      res.set('WWW-Authenticate', 'Bearer realm="webhook-sender", error="invalid_token"');
      return fail(res, 401, 'the token is unknown, revoked or expired');
    }
    res.locals['principal'] = { tenant: record.tenant, kind: 'token', id: record.id, readOnly: record.readOnly };
    // Every request at debug (writes also at info, by the service); the path holds no secret.
    log.debug({ ...who(principalOf(res)), method: req.method, path: req.path }, 'tenant API: request');
    next();
  });
  router.use(tenantRateLimit(access, principalOf));
  router.use(express.json({ limit: TENANT_BODY_LIMIT }));
  router.use('/tenants/:tenant', tenantScope(d.registry, principalOf), readOnlyGuard(principalOf), d.routes);
  router.use('/tenants/:tenant', (_req, res) =>
    fail(res, 403, "a tenant token cannot use this route: it is the operator's, or not a route (docs/portal.md)"),
  );
  router.use((_req, res) => fail(res, 403, 'a tenant token reaches only /api/tenants/<its tenant>/… (docs/portal.md)'));
  router.use(jsonErrors(log, 'tenant API', TENANT_BODY_LIMIT));
  return router;
}
