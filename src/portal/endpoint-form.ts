// The add and edit forms' fields, shared by the endpoint list (add) and an endpoint's page
// (edit): every control labelled, with its hint tied to it (aria-describedby).
import { SCHEMES } from '../signing/keys.js';
import type { TenantEndpointView } from '../tenant-api/view.js';
import { field, type Form } from './forms.js';
import { html, when, type SafeHtml } from './html.js';

/** The fields of the add and edit forms; `values` are what to show in them. */
export function endpointFields(ctx: { allowExpressions: boolean }, values: Form, creating: boolean): SafeHtml {
  const scheme = field(values, 'scheme') || 'wss';
  const text = (name: string, label: string, hint: string, attrs: SafeHtml = html``) =>
    html`<div>
      <label for="f-${name}">${label}<span class="hint" id="h-${name}">${hint}</span></label>
      <input id="f-${name}" name="${name}" value="${field(values, name)}" aria-describedby="h-${name}" ${attrs} />
    </div>`;
  const area = (name: string, label: string, hint: string) =>
    html`<div>
      <label for="f-${name}">${label}<span class="hint" id="h-${name}">${hint}</span></label>
      <textarea id="f-${name}" name="${name}" aria-describedby="h-${name}" spellcheck="false">
${field(values, name)}</textarea>
    </div>`;
  return html`${
      creating
        ? text(
            'id',
            'Endpoint id',
            'Lower-case letters, digits, - and _; cannot be changed later.',
            html`required maxlength="63" autocomplete="off" spellcheck="false"`,
          )
        : ''
    }
    ${text('url', 'URL', 'Where events are sent (https:// recommended).', html`type="url" required maxlength="2048" spellcheck="false"`)}
    ${text('events', 'Event types', 'Comma-separated; * for every type, order.* for a family.')}
    ${area('description', 'Description', 'Optional, for you.')}
    <div>
      <label for="f-scheme"
        >Signature scheme<span class="hint" id="h-scheme"
          >How requests are signed; changing it makes a new secret.</span
        ></label
      >
      <select id="f-scheme" name="scheme" aria-describedby="h-scheme">
        ${SCHEMES.map((s) => html`<option value="${s}" ${when(s === scheme, 'selected')}>${s}</option>`)}
      </select>
    </div>
    ${area('headers', 'Custom headers', 'One per line, as Name: value. Values shown as [hidden] are kept.')}
    ${ctx.allowExpressions ? area('filter', 'Filter', 'Optional jsonata expression: only events for which it is true are sent.') : ''}
    ${ctx.allowExpressions ? area('transform', 'Transform', 'Optional jsonata expression: what is sent instead of the event.') : ''}`;
}

/** What the edit form shows of an endpoint. */
export function formValues(ep: TenantEndpointView): Form {
  return {
    url: ep.url,
    events: ep.events.join(', '),
    description: ep.description ?? '',
    scheme: ep.signature.scheme,
    headers: Object.entries(ep.headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
    filter: ep.filter ?? '',
    transform: ep.transform ?? '',
  };
}
