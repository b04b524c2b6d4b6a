// What the portal's handlers share: the services, the branding, and per request the session's
// principal and the page context built from it.
import type { Request, Response } from 'express';
import type { Access } from '../access/access.js';
import type { TenantPrincipal } from '../access/principal.js';
import type { Logger } from '../lib/log.js';
import type { Registry } from '../tenants/registry.js';
import type { TenantDeliveries } from '../tenant-api/deliveries.js';
import type { TenantEndpoints } from '../tenant-api/endpoints.js';
import type { PageContext } from './endpoint-pages.js';
import type { Form } from './forms.js';
import { field } from './forms.js';
import type { Branding } from './layout.js';

export interface PortalDeps {
  access: Access;
  registry: Registry;
  endpoints: TenantEndpoints;
  deliveries: TenantDeliveries;
  log: Logger;
  now: () => number;
  branding: Branding & { accent: string };
  /** WSS_PORTAL_PUBLIC_URL. */
  publicUrl: string | undefined;
  /** WSS_PORTAL_SESSION_MAX: the cookie's Max-Age. */
  sessionMaxMs: number;
}

export function principal(res: Response): TenantPrincipal {
  return res.locals['principal'] as TenantPrincipal;
}

// Fixed texts for ?done=…: the query picks one, it never supplies words of its own.
const DONE: Record<string, (n: number) => string> = {
  saved: () => 'Changes saved.',
  enabled: () => 'Endpoint enabled: deliveries resume.',
  disabled: () => 'Endpoint disabled: deliveries wait until it is enabled again.',
  deleted: () => 'Endpoint deleted.',
  test: () => 'Test event sent.',
  recovered: (n) => `Recovered ${n} ${n === 1 ? 'delivery' : 'deliveries'}.`,
  replayed: (n) => `Replay queued ${n} ${n === 1 ? 'delivery' : 'deliveries'}.`,
};

export function doneNotice(query: Form): string | undefined {
  const make = DONE[field(query, 'done')];
  if (!make) return undefined;
  const n = Number(field(query, 'n'));
  return make(Number.isSafeInteger(n) && n >= 0 ? n : 0);
}

export async function pageContext(
  d: PortalDeps,
  req: Request,
  res: Response,
  extra: { problems?: readonly string[]; notice?: string } = {},
): Promise<PageContext> {
  const p = principal(res);
  const policy = await d.access.policies.get(p.tenant);
  return {
    branding: d.branding,
    tenantName: d.registry.snapshot().tenants.get(p.tenant)?.meta.name ?? p.tenant,
    readOnly: p.readOnly,
    allowExpressions: policy.allowExpressions,
    notice: extra.notice ?? doneNotice(req.query as Form),
    ...(extra.problems ? { problems: extra.problems } : {}),
  };
}
