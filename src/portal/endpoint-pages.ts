// The portal's endpoint pages: the list (with the form that adds one), one endpoint (health,
// settings, actions, the edit form), and the page that shows a new secret once. Every value is
// rendered as text (html.ts).
import type { TenantEndpointView } from '../tenant-api/view.js';
import { html, type SafeHtml } from './html.js';
import type { Form } from './forms.js';
import { endpointFields, formValues } from './endpoint-form.js';
import { page, type Branding } from './layout.js';

export interface Health {
  circuit: { state: string; consecutiveFailures: number };
  recentFailures: Array<{ at: string; reason: string }>;
}
export type EndpointWithHealth = TenantEndpointView & { health: Health };

export interface PageContext {
  branding: Branding;
  tenantName: string;
  readOnly: boolean;
  allowExpressions: boolean;
  notice?: string | undefined;
  problems?: readonly string[] | undefined;
}

function status(ep: TenantEndpointView, health?: Health): SafeHtml {
  if (!ep.enabled) return html`<span class="state state-disabled">disabled</span>`;
  const c = health?.circuit.state ?? 'closed';
  return c === 'closed'
    ? html`<span class="state state-enabled">enabled</span>`
    : html`<span class="state state-open">enabled, circuit ${c}</span>`;
}

export function listPage(ctx: PageContext, endpoints: readonly EndpointWithHealth[], values: Form = {}): string {
  const rows = endpoints.map(
    (ep) =>
      html`<tr>
        <td data-label="Endpoint"><a href="/portal/endpoints/${ep.id}">${ep.id}</a></td>
        <td data-label="URL"><code>${ep.url}</code></td>
        <td data-label="Status">${status(ep, ep.health)}</td>
        <td data-label="Event types">${ep.events.join(', ')}</td>
      </tr>`,
  );
  const add = ctx.readOnly
    ? html`<p>This is read-only access: you can look, not change.</p>`
    : html`<h2 id="add">Add an endpoint</h2>
        <form class="stack" method="post" action="/portal/endpoints" aria-labelledby="add">
          ${endpointFields(ctx, values, true)}
          <div><button type="submit">Add endpoint</button></div>
        </form>`;
  const body = html`<h1>Endpoints</h1>
    ${
      endpoints.length === 0
        ? html`<p>No endpoints yet.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">URL</th>
                <th scope="col">Status</th>
                <th scope="col">Event types</th>
              </tr>
            </thead>
            <tbody>
              ${rows}
            </tbody>
          </table>`
    }
    ${add}`;
  return page({
    title: 'Endpoints',
    branding: ctx.branding,
    tenant: ctx.tenantName,
    nav: 'endpoints',
    body,
    notice: ctx.notice,
    problems: ctx.problems,
  });
}

function actions(ep: TenantEndpointView): SafeHtml {
  const base = `/portal/endpoints/${ep.id}`;
  return html`<h2>Actions</h2>
    <div class="actions">
      <form method="post" action="${base}/test"><button type="submit">Send test event</button></form>
      <form method="post" action="${base}/${ep.enabled ? 'disable' : 'enable'}">
        <button type="submit" class="secondary">${ep.enabled ? 'Disable' : 'Enable'}</button>
      </form>
      <form class="inline" method="post" action="${base}/recover">
        <label for="recover-since"
          >Recover failed deliveries since<span class="hint">A time (ISO 8601) or a duration ago: 2h, 3d.</span></label
        >
        <input id="recover-since" name="since" value="24h" required />
        <button type="submit">Recover</button>
      </form>
      <form class="inline" method="post" action="${base}/rotate-secret">
        <label for="rotate-overlap"
          >Rotate the secret; keep the old one for<span class="hint">It keeps signing too until then.</span></label
        >
        <select id="rotate-overlap" name="overlap">
          <option value="0s">no overlap</option>
          <option value="1h">1 hour</option>
          <option value="24h" selected>24 hours</option>
          <option value="7d">7 days</option>
        </select>
        <button type="submit">Rotate secret</button>
      </form>
    </div>`;
}

export function endpointPage(
  ctx: PageContext,
  ep: EndpointWithHealth,
  values?: Form,
  keys?: ReadonlyArray<{ publicKey: string }>,
): string {
  const h = ep.health;
  const failures = h.recentFailures.length
    ? html`<h2>Recent failures</h2>
        <ul>
          ${h.recentFailures.map((f) => html`<li><time datetime="${f.at}">${f.at}</time>: ${f.reason}</li>`)}
        </ul>`
    : '';
  const editing = ctx.readOnly
    ? ''
    : html`${actions(ep)}
        <h2 id="edit">Change settings</h2>
        <form class="stack" method="post" action="/portal/endpoints/${ep.id}" aria-labelledby="edit">
          ${endpointFields(ctx, values ?? formValues(ep), false)}
          <div><button type="submit">Save changes</button></div>
        </form>
        <h2 id="delete">Delete</h2>
        <form class="inline" method="post" action="/portal/endpoints/${ep.id}/delete" aria-labelledby="delete">
          <label
            ><input type="checkbox" name="confirm" value="yes" required /> Delete this endpoint and stop its
            deliveries</label
          >
          <button type="submit" class="danger">Delete endpoint</button>
        </form>`;
  const body = html`<h1>Endpoint ${ep.id}</h1>
    <dl class="facts">
      <dt>Status</dt>
      <dd>${status(ep, h)}${ep.disabled ? html` since ${ep.disabled.since}: ${ep.disabled.reason}` : ''}</dd>
      <dt>URL</dt>
      <dd><code>${ep.url}</code></dd>
      ${
        ep.description
          ? html`<dt>Description</dt>
              <dd>${ep.description}</dd>`
          : ''
      }
      <dt>Event types</dt>
      <dd>${ep.events.join(', ')}</dd>
      <dt>Circuit</dt>
      <dd>${h.circuit.state}, ${h.circuit.consecutiveFailures} failure(s) in a row</dd>
      ${
        ep.broken
          ? html`<dt>Expressions</dt>
              <dd>stopped since ${ep.broken.since}: ${ep.broken.reason}</dd>`
          : ''
      }
      <dt>Signature</dt>
      <dd>
        ${ep.signature.scheme}; ${ep.secrets.active} secret(s) in
        use${ep.secrets.previousExpireAt.length ? html`, older ones until ${ep.secrets.previousExpireAt.join(', ')}` : ''}
      </dd>
      ${
        keys && keys.length
          ? html`<dt>Public keys</dt>
              <dd>${keys.map((k) => html`<code>${k.publicKey}</code><br />`)}</dd>`
          : ''
      }
      ${
        Object.keys(ep.headers).length
          ? html`<dt>Custom headers</dt>
              <dd>${Object.entries(ep.headers).map(([k, v]) => html`<code>${k}: ${v}</code><br />`)}</dd>`
          : ''
      }
      ${
        ep.filter
          ? html`<dt>Filter</dt>
              <dd><code>${ep.filter}</code></dd>`
          : ''
      }
      ${
        ep.transform
          ? html`<dt>Transform</dt>
              <dd><code>${ep.transform}</code></dd>`
          : ''
      }
    </dl>
    <p><a href="/portal/deliveries?endpoint=${ep.id}">Deliveries to this endpoint</a></p>
    ${failures} ${editing}`;
  return page({
    title: `Endpoint ${ep.id}`,
    branding: ctx.branding,
    tenant: ctx.tenantName,
    nav: 'endpoints',
    body,
    notice: ctx.notice,
    problems: ctx.problems,
  });
}

/** After a create, a scheme change or a rotation: the new secret, this once. */
export function secretPage(
  ctx: PageContext,
  title: string,
  endpoint: string,
  shown: { secret?: string | undefined; publicKeys?: ReadonlyArray<{ publicKey: string }> | undefined },
): string {
  const secret = shown.secret
    ? html`<div class="secret">
        <p>
          <strong>Signing secret, shown this once.</strong> Copy it now into your receiver; it cannot be shown again
          (rotate to get a new one).
        </p>
        <p><code id="secret">${shown.secret}</code></p>
      </div>`
    : '';
  const keys = shown.publicKeys?.length
    ? html`<div class="secret">
        <p>Verify signatures with this public key:</p>
        ${shown.publicKeys.map((k) => html`<p><code>${k.publicKey}</code></p>`)}
      </div>`
    : '';
  const body = html`<h1>${title}</h1>
    ${secret}${keys}
    <p><a href="/portal/endpoints/${endpoint}">Go to endpoint ${endpoint}</a></p>`;
  return page({ title, branding: ctx.branding, tenant: ctx.tenantName, nav: 'endpoints', body, notice: ctx.notice });
}
