// The portal's form posts: add, change, enable, disable, delete, rotate the secret, send a test
// event, recover, replay. Each calls the same service as the tenant API. A refused form comes
// back with its values and every problem named; a success either shows a new secret (once) or
// redirects to a page with a fixed notice (303, so reloading does not post again).
import { param } from '../tenant-api/respond.js';
import { Router, type Request } from 'express';
import { TenantRequestError } from '../tenant-api/errors.js';
import { principal, pageContext, type PortalDeps } from './context.js';
import { endpointPage, listPage, secretPage } from './endpoint-pages.js';
import { endpointInputFromForm, field, type Form } from './forms.js';
import { messagePage } from './layout.js';
import { idOf, orAgain, respond } from './respond.js';

function formOf(req: Request): Form {
  return (req.body ?? {}) as Form;
}

const refuse = (...problems: string[]) => new TenantRequestError(400, problems);

export function portalActions(d: PortalDeps): Router {
  const r = Router();
  const on = (fn: Parameters<typeof respond>[1]) => respond(d.branding, fn);
  r.use((req, res, next) => {
    if (req.method !== 'POST' || !principal(res).readOnly) return next();
    res
      .status(403)
      .type('html')
      .send(
        messagePage(d.branding, 'Read-only', 'This session can look but not change anything.', principal(res).tenant),
      );
  });

  r.post(
    '/endpoints',
    on(async (req, res) => {
      const p = principal(res);
      const ctx = await pageContext(d, req, res);
      const form = formOf(req);
      return orAgain(
        async () => {
          const { input, problems } = endpointInputFromForm(form, {
            creating: true,
            allowExpressions: ctx.allowExpressions,
          });
          if (problems.length > 0) throw refuse(...problems);
          const out = await d.endpoints.create(p, input);
          return { html: secretPage(ctx, `Endpoint ${out.endpoint.id} added`, out.endpoint.id, out), status: 201 };
        },
        async (problems) => listPage({ ...ctx, problems }, await d.endpoints.list(p.tenant), form),
      );
    }),
  );

  r.post(
    '/endpoints/:endpoint',
    on(async (req, res) => {
      const p = principal(res);
      const id = idOf(param(req, 'endpoint'));
      const ctx = await pageContext(d, req, res);
      const current = await d.endpoints.get(p.tenant, id);
      const form = formOf(req);
      return orAgain(
        async () => {
          const { input, problems } = endpointInputFromForm(form, {
            creating: false,
            allowExpressions: ctx.allowExpressions,
            currentScheme: current.signature.scheme,
          });
          if (problems.length > 0) throw refuse(...problems);
          const out = await d.endpoints.update(p, id, input);
          if (out.secret === undefined && out.publicKeys === undefined)
            return { redirect: `/portal/endpoints/${id}?done=saved` };
          return { html: secretPage(ctx, `Endpoint ${id} now signs with ${out.endpoint.signature.scheme}`, id, out) };
        },
        async (problems) => endpointPage({ ...ctx, problems }, current, form),
      );
    }),
  );

  for (const [action, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    r.post(
      `/endpoints/:endpoint/${action}`,
      on(async (req, res) => {
        const id = idOf(param(req, 'endpoint'));
        await d.endpoints.update(principal(res), id, { enabled });
        return { redirect: `/portal/endpoints/${id}?done=${action}d` };
      }),
    );
  }

  r.post(
    '/endpoints/:endpoint/delete',
    on(async (req, res) => {
      const id = idOf(param(req, 'endpoint'));
      if (field(formOf(req), 'confirm') !== 'yes') throw refuse('tick the box to confirm the deletion');
      await d.endpoints.remove(principal(res), id);
      return { redirect: '/portal?done=deleted' };
    }),
  );

  r.post(
    '/endpoints/:endpoint/rotate-secret',
    on(async (req, res) => {
      const id = idOf(param(req, 'endpoint'));
      const out = await d.endpoints.rotate(principal(res), id, { overlap: field(formOf(req), 'overlap') || undefined });
      const ctx = await pageContext(d, req, res);
      return { html: secretPage(ctx, `New secret for ${id}`, id, out) };
    }),
  );

  r.post(
    '/endpoints/:endpoint/test',
    on(async (req, res) => {
      const { eventId } = await d.endpoints.test(principal(res), idOf(param(req, 'endpoint')));
      return { redirect: `/portal/events/${encodeURIComponent(eventId)}?done=test` };
    }),
  );

  r.post(
    '/endpoints/:endpoint/recover',
    on(async (req, res) => {
      const id = idOf(param(req, 'endpoint'));
      const form = formOf(req);
      const eventId = field(form, 'eventId');
      const input = eventId !== '' ? { eventId } : { since: field(form, 'since') };
      const out = await d.deliveries.recover(principal(res), id, input);
      const back = eventId !== '' ? `/portal/events/${encodeURIComponent(eventId)}` : `/portal/endpoints/${id}`;
      return { redirect: `${back}?done=recovered&n=${out.recovered}` };
    }),
  );

  r.post(
    '/replay',
    on(async (req, res) => {
      const form = formOf(req);
      const endpoint = field(form, 'endpoint');
      const out = await d.deliveries.replay(principal(res), {
        ...(endpoint !== '' ? { endpoint } : {}),
        from: field(form, 'from'),
        to: field(form, 'to'),
      });
      return { redirect: `/portal/deliveries?done=replayed&n=${out.deliveries}` };
    }),
  );
  return r;
}
