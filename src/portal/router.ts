// /portal: the tenant portal, served by the dashboard role. A portal link (/portal/link/<code>)
// opens once and starts a session cookie bound to its tenant; every other page needs that
// session. Pages are plain server-rendered HTML with forms, no script at all (CSP script-src
// 'none'), every value as text. Writes pass the same-origin check (session.ts); read-only
// sessions only read; requests count against the tenant's rate limit. The operator's
// dashboard (Bull Board, the event page, /api with basic auth) knows nothing of these
// sessions: the cookie's Path keeps it here.
import { param } from '../tenant-api/respond.js';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { errorMessage } from '../lib/errors.js';
import { who } from '../access/principal.js';
import { clientAddress } from '../tenant-api/token-api.js';
import { TenantRequestError } from '../tenant-api/errors.js';
import { ownTenant } from '../tenant-api/scope.js';
import { portalActions } from './actions.js';
import { principal, pageContext, type PortalDeps } from './context.js';
import { deliveriesPage, eventPage } from './delivery-pages.js';
import { endpointPage, listPage } from './endpoint-pages.js';
import { field, type Form } from './forms.js';
import { messagePage, page } from './layout.js';
import { html } from './html.js';
import { idOf, respond } from './respond.js';
import { clearedCookie, COOKIE_NAME, cookieValue, isHttps, portalSameOrigin, sessionCookie } from './session.js';
import { portalCss } from './style.js';

export const PORTAL_PATH = '/portal';
export const PORTAL_CSP =
  "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function portalRouter(d: PortalDeps): Router {
  const r = Router();
  const { access, log, now, branding } = d;
  const say = (res: Response, status: number, title: string, text: string) =>
    void res
      .status(status)
      .type('html')
      .send(messagePage(branding, title, text));
  const on = (fn: Parameters<typeof respond>[1]) => respond(branding, fn);

  r.use((_req, res, next) => {
    res.set({ 'Content-Security-Policy': PORTAL_CSP, 'Cache-Control': 'no-store' });
    next();
  });
  const css = portalCss(branding.accent);
  r.get('/portal.css', (_req, res) => void res.set('Cache-Control', 'no-cache').type('css').send(css));

  // The code is in the path and is never logged; the page that answers names no code either.
  r.get('/link/:code', async (req, res) => {
    res.set('Referrer-Policy', 'no-referrer');
    // A HEAD (a link checker looking) must not spend the link.
    if (req.method === 'HEAD') return void res.status(200).type('html').end();
    const client = clientAddress(req);
    const wait = access.failures.blockedFor(client, now());
    if (wait > 0) {
      res.set('Retry-After', String(Math.ceil(wait / 1_000)));
      return say(
        res,
        429,
        'Too many attempts',
        'Too many links that did not work came from this address. Try again in a few minutes.',
      );
    }
    const link = await access.links.consume(param(req, 'code'));
    if (!link) {
      access.failures.fail(client, now());
      log.warn({ client }, 'portal: refused a link that is unknown, used or expired');
      return say(
        res,
        404,
        'This link does not work',
        `It was used already or has expired. Open the webhooks page again from ${branding.productName} to get a new one.`,
      );
    }
    const old = cookieValue(req.headers.cookie, COOKIE_NAME);
    if (old !== undefined) await access.sessions.end(old);
    const { sid, session } = await access.sessions.start(link);
    log.info(
      { tenant: session.tenant, credential: session.id, via: 'session', link: link.id, readOnly: session.readOnly },
      'portal: link opened, session started',
    );
    res.set('Set-Cookie', sessionCookie(sid, d.sessionMaxMs, isHttps(req, d.publicUrl)));
    // A page of this origin moves on to /portal: a redirect would keep the host product's site
    // as the navigation's initiator, and the SameSite=Strict cookie would not be sent.
    res.type('html').send(
      page({
        title: 'Signed in',
        branding,
        refresh: { seconds: 0, url: '/portal' },
        body: html`<h1>Signed in</h1>
          <p><a href="/portal">Continue to your webhooks</a></p>`,
      }),
    );
  });

  r.use(
    portalSameOrigin((reason) =>
      messagePage(branding, 'Refused', `This request did not come from the portal itself (${reason}).`),
    ),
  );
  r.use(async (req, res, next) => {
    const sid = cookieValue(req.headers.cookie, COOKIE_NAME);
    const session = sid === undefined ? undefined : await access.sessions.touch(sid);
    if (!session) {
      if (sid !== undefined) res.set('Set-Cookie', clearedCookie(isHttps(req, d.publicUrl)));
      return say(
        res,
        401,
        'Signed out',
        `Your session has ended. Open the webhooks page again from ${branding.productName}.`,
      );
    }
    res.locals['principal'] = { tenant: session.tenant, kind: 'session', id: session.id, readOnly: session.readOnly };
    // Every request at debug (writes also at info); past the link route, no path holds a secret.
    log.debug({ ...who(principal(res)), method: req.method, path: req.path }, 'portal: request');
    next();
  });
  r.post('/logout', async (req, res) => {
    await access.sessions.end(cookieValue(req.headers.cookie, COOKIE_NAME) ?? '');
    log.info({ tenant: principal(res).tenant, credential: principal(res).id, via: 'session' }, 'portal: signed out');
    res.set('Set-Cookie', clearedCookie(isHttps(req, d.publicUrl)));
    say(res, 200, 'Signed out', 'You are signed out.');
  });
  r.use(async (_req, res, next) => {
    const verdict = await access.rate.take(principal(res).tenant);
    if (verdict.ok) return next();
    res.set('Retry-After', String(Math.ceil(verdict.retryAfterMs / 1_000)));
    say(res, 429, 'Slow down', 'Too many requests for your account this minute. Try again shortly.');
  });
  r.use((_req, res, next) => {
    if (ownTenant(d.registry, principal(res), principal(res).tenant)) return next();
    say(res, 404, 'Not found', 'This account has no webhooks here any more.');
  });
  r.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 100 }));

  r.get(
    '/',
    on(async (req, res) => ({
      html: listPage(await pageContext(d, req, res), await d.endpoints.list(principal(res).tenant)),
    })),
  );
  r.get(
    '/endpoints/:endpoint',
    on(async (req, res) => {
      const tenant = principal(res).tenant;
      const ep = await d.endpoints.get(tenant, idOf(param(req, 'endpoint')));
      const keys =
        ep.signature.scheme === 'standard-webhooks-ed25519'
          ? await d.endpoints.publicKeys(tenant, ep.id).then(
              (k) => k.keys,
              () => [],
            )
          : undefined;
      return { html: endpointPage(await pageContext(d, req, res), ep, undefined, keys) };
    }),
  );
  r.get(
    '/deliveries',
    on(async (req, res) => {
      const q = req.query as Form;
      const event = field(q, 'event').trim();
      if (event !== '') return { redirect: `/portal/events/${encodeURIComponent(event)}` };
      const tenant = principal(res).tenant;
      const endpoints = [...(d.registry.snapshot().tenants.get(tenant)?.endpoints.keys() ?? [])].sort();
      const search: Record<string, unknown> = {};
      for (const k of ['endpoint', 'state', 'since', 'until', 'cursor'])
        if (field(q, k) !== '') search[k] = field(q, k);
      try {
        const result = await d.deliveries.search(tenant, search);
        return { html: deliveriesPage(await pageContext(d, req, res), endpoints, q, result) };
      } catch (err) {
        if (!(err instanceof TenantRequestError)) throw err;
        const ctx = await pageContext(d, req, res, { problems: err.problems });
        return { html: deliveriesPage(ctx, endpoints, q, { deliveries: [], nextCursor: null }), status: err.status };
      }
    }),
  );
  r.get(
    '/events/:id',
    on(async (req, res) => ({
      html: eventPage(
        await pageContext(d, req, res),
        await d.deliveries.event(principal(res).tenant, param(req, 'id')),
      ),
    })),
  );

  r.use(portalActions(d));
  r.use((_req, res) => say(res, 404, 'Not found', 'There is no such page.'));
  r.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string };
    if (e.type === 'entity.too.large' || e.type === 'parameters.too.many')
      return say(res, 413, 'Too much', 'The form sent more than the portal takes.');
    log.error({ err: errorMessage(err) }, 'portal: request failed');
    say(
      res,
      500,
      'Something went wrong',
      'The page could not be shown. Try again; if it keeps failing, tell the operator.',
    );
  });
  return r;
}
