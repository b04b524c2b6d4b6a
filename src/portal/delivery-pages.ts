// The portal's delivery pages: the search of settled deliveries (with the replay form) and one
// event's page (every attempt with its status, latency and the start of the receiver's answer,
// shown as text; a Recover button on a failed delivery). The event page reloads itself every
// few seconds while a delivery is still pending, and says so.
import type { EventView } from '../history/event-status.js';
import type { SearchPage } from '../history/search.js';
import { html, when, type SafeHtml } from './html.js';
import { field, type Form } from './forms.js';
import { page } from './layout.js';
import type { PageContext } from './endpoint-pages.js';

const PENDING = new Set(['waiting', 'delayed', 'active']);
export const REFRESH_SECONDS = 2;

function stateBadge(state: string): SafeHtml {
  return html`<span class="state state-${state}">${state}</span>`;
}

export function deliveriesPage(
  ctx: PageContext,
  endpoints: readonly string[],
  query: Form,
  result: SearchPage,
): string {
  const select = (prefix: string, name: string, label: string, options: ReadonlyArray<[string, string]>) =>
    html`<label for="${prefix}-${name}"
      >${label}
      <select id="${prefix}-${name}" name="${name}">
        ${options.map(([v, t]) => html`<option value="${v}" ${when(field(query, name) === v, 'selected')}>${t}</option>`)}
      </select></label
    >`;
  const endpointOptions: Array<[string, string]> = [
    ['', 'all endpoints'],
    ...endpoints.map((e): [string, string] => [e, e]),
  ];
  const rows = result.deliveries.map(
    (d) =>
      html`<tr>
        <td data-label="Settled"><time datetime="${d.at}">${d.at}</time></td>
        <td data-label="Event"><a href="/portal/events/${d.eventId}">${d.eventId}</a></td>
        <td data-label="Endpoint">${d.endpoint}</td>
        <td data-label="State">${stateBadge(d.state)}</td>
        <td data-label="Attempts">${d.attempts}</td>
        <td data-label="Last answer">${d.status === null ? (d.error ?? 'no answer') : `HTTP ${d.status}`}</td>
      </tr>`,
  );
  const next = result.nextCursor
    ? html`<p>
        <a
          href="/portal/deliveries?${new URLSearchParams({ ...stringsOf(query), cursor: result.nextCursor }).toString()}"
          >Older deliveries</a
        >
      </p>`
    : '';
  const replay = ctx.readOnly
    ? ''
    : html`<h2 id="replay">Send a time range again</h2>
        <p>Events kept in the stream are sent again to the endpoint (or all endpoints), marked as a replay.</p>
        <form class="inline" method="post" action="/portal/replay" aria-labelledby="replay">
          ${select('r', 'endpoint', 'Endpoint', endpointOptions)}
          <label for="r-from">From<span class="hint">ISO 8601 time or a duration ago (2h)</span></label>
          <input id="r-from" name="from" required value="1h" />
          <label for="r-to">To</label>
          <input id="r-to" name="to" required value="now" />
          <button type="submit">Replay</button>
        </form>`;
  const body = html`<h1>Deliveries</h1>
    <form class="inline" method="get" action="/portal/deliveries" role="search">
      <label for="q-event">Event id<span class="hint">Go straight to one event</span></label>
      <input id="q-event" name="event" value="${field(query, 'event')}" maxlength="200" spellcheck="false" />
      ${select('q', 'endpoint', 'Endpoint', endpointOptions)}
      ${select('q', 'state', 'State', [
        ['', 'any'],
        ['delivered', 'delivered'],
        ['failed', 'failed'],
        ['cancelled', 'cancelled'],
      ])}
      <label for="q-since">Since<span class="hint">ISO 8601 or 2h, 3d</span></label>
      <input id="q-since" name="since" value="${field(query, 'since')}" />
      <label for="q-until">Until</label>
      <input id="q-until" name="until" value="${field(query, 'until')}" />
      <button type="submit">Search</button>
    </form>
    ${
      result.deliveries.length === 0
        ? html`<p>No settled deliveries match.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Settled</th>
                <th scope="col">Event</th>
                <th scope="col">Endpoint</th>
                <th scope="col">State</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
              </tr>
            </thead>
            <tbody>
              ${rows}
            </tbody>
          </table>`
    }
    ${next} ${replay}`;
  return page({
    title: 'Deliveries',
    branding: ctx.branding,
    tenant: ctx.tenantName,
    nav: 'deliveries',
    body,
    notice: ctx.notice,
    problems: ctx.problems,
  });
}

function stringsOf(form: Form): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['endpoint', 'state', 'since', 'until']) if (field(form, k) !== '') out[k] = field(form, k);
  return out;
}

function attemptRows(d: EventView['deliveries'][number]): SafeHtml[] {
  return d.attempts.map((a) => {
    let answer = a.status === null ? (a.error ?? 'no answer') : `HTTP ${a.status}`;
    if (a.status !== null && a.error && a.error !== 'HTTP_STATUS') answer += ` (${a.error})`;
    return html`<tr class="attempt">
      <td data-label="Attempt">${a.attempt}${a.replay ? ' (replay)' : ''}</td>
      <td data-label="At"><time datetime="${a.at}">${a.at}</time></td>
      <td data-label="Answer" class="answer">${answer}</td>
      <td data-label="Latency">${a.latencyMs} ms</td>
      <td data-label="Response (first 1 KB)"><pre>${a.response}</pre></td>
    </tr>`;
  });
}

export function eventPage(ctx: PageContext, view: { eventId: string } & EventView): string {
  const pending = view.deliveries.some((d) => PENDING.has(d.state));
  const sections = view.deliveries.map(
    (d) =>
      html`<section class="delivery" data-endpoint="${d.endpoint}" aria-labelledby="d-${d.endpoint}">
        <h2 id="d-${d.endpoint}">
          Endpoint <a href="/portal/endpoints/${d.endpoint}">${d.endpoint}</a> ${stateBadge(d.state)}
        </h2>
        ${d.nextAttemptAt ? html`<p>Next attempt at <time datetime="${d.nextAttemptAt}">${d.nextAttemptAt}</time>.</p>` : ''}
        ${d.cancelReason ? html`<p>Cancelled: ${d.cancelReason}</p>` : ''}
        <p class="count">${d.attempts.length} attempt${d.attempts.length === 1 ? '' : 's'}</p>
        ${
          d.attempts.length
            ? html`<table>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">At</th>
                    <th scope="col">Answer</th>
                    <th scope="col">Latency</th>
                    <th scope="col">Response (first 1 KB)</th>
                  </tr>
                </thead>
                <tbody>
                  ${attemptRows(d)}
                </tbody>
              </table>`
            : ''
        }
        ${
          d.state === 'failed' && !ctx.readOnly
            ? html`<form method="post" action="/portal/endpoints/${d.endpoint}/recover">
                <input type="hidden" name="eventId" value="${view.eventId}" />
                <button type="submit">Recover this delivery</button>
              </form>`
            : ''
        }
      </section>`,
  );
  const body = html`<h1>Event ${view.eventId}</h1>
    <dl class="facts">
      <dt>Type</dt>
      <dd>${view.type ?? 'unknown'}</dd>
      <dt>Created</dt>
      <dd>${view.createdAt ?? 'unknown'}</dd>
    </dl>
    ${pending ? html`<p>Deliveries are pending: this page reloads every ${REFRESH_SECONDS} seconds. <a href="/portal/events/${view.eventId}">Reload now</a></p>` : ''}
    ${view.deliveries.length ? sections : html`<p>No endpoint of yours received this event.</p>`}`;
  return page({
    title: `Event ${view.eventId}`,
    branding: ctx.branding,
    tenant: ctx.tenantName,
    nav: 'deliveries',
    body,
    notice: ctx.notice,
    problems: ctx.problems,
    ...(pending ? { refresh: { seconds: REFRESH_SECONDS } } : {}),
  });
}
