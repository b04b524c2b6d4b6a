// The event page's browser script, served as /admin/events/events.js (the page's CSP allows
// scripts from this origin only, no inline code). Plain ES2020, no build step. Every value from
// the API reaches the page as a text node (textContent / append of strings), never as HTML.
export const EVENTS_PAGE_SCRIPT = String.raw`'use strict';
(function () {
  var form = document.getElementById('lookup');
  var input = document.getElementById('event-id');
  var message = document.getElementById('message');
  var result = document.getElementById('result');
  var PENDING = ['waiting', 'delayed', 'active'];
  var timer;
  var polls = 0;

  function el(tag, attrs) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function say(text, kind) {
    message.textContent = text;
    message.className = kind || '';
  }

  function when(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toISOString().replace('T', ' ').replace('Z', ' UTC');
  }

  function pending(body) {
    return (body.events || []).some(function (ev) {
      return (ev.deliveries || []).some(function (d) {
        return PENDING.indexOf(d.state) >= 0;
      });
    });
  }

  function attemptsTable(attempts) {
    var head = el('tr', {}, el('th', { text: '#' }), el('th', { text: 'at' }), el('th', { text: 'status' }),
      el('th', { text: 'latency' }), el('th', { text: 'response (first 1 KB)' }));
    var table = el('table', { class: 'attempts' }, el('thead', {}, head));
    var body = el('tbody');
    (attempts || []).forEach(function (a) {
      var status = a.status === null || a.status === undefined ? (a.error || 'no response') : 'HTTP ' + a.status;
      // HTTP_STATUS only repeats what the status says.
      if (a.status !== null && a.status !== undefined && a.error && a.error !== 'HTTP_STATUS') status += ' (' + a.error + ')';
      body.append(el('tr', { class: 'attempt' },
        el('td', { text: String(a.attempt) + (a.replay ? ' (replay)' : '') }),
        el('td', { text: when(a.at) }),
        el('td', { class: 'status', text: status }),
        el('td', { text: a.latencyMs === undefined ? '' : a.latencyMs + ' ms' }),
        el('td', {}, el('pre', { text: a.response || '' }))));
    });
    table.append(body);
    return table;
  }

  function deliveryBox(eventId, ev, d) {
    var box = el('section', { class: 'delivery', 'data-endpoint': d.endpoint, 'data-state': d.state },
      el('h3', {}, d.endpoint + ' ', el('span', { class: 'state state-' + d.state, text: d.state })));
    if (d.nextAttemptAt) box.append(el('p', { text: 'next attempt: ' + when(d.nextAttemptAt) }));
    if (d.delayReason) box.append(el('p', { class: 'delay-reason', text: 'delayed: ' + d.delayReason }));
    if (d.cancelReason) box.append(el('p', { text: 'cancelled: ' + d.cancelReason }));
    var o = d.ordering;
    var jobId = ev.tenant + '.' + d.endpoint + '.' + eventId;
    if (o) box.append(el('p', { class: 'ordering', text: 'ordering key ' + o.key + ' · ' +
      (o.sequence === undefined ? 'no sequence yet' : 'sequence ' + o.sequence) +
      (o.blockedBy === jobId ? ' · blocks its key (recover or skip it)' : o.blockedBy ? ' · key blocked by ' + o.blockedBy :
        o.waitingBehind ? ' · waits behind ' + o.waitingBehind : '') }));
    var n = (d.attempts || []).length;
    box.append(el('p', { class: 'count', text: n + (n === 1 ? ' attempt' : ' attempts') }));
    box.append(attemptsTable(d.attempts));
    if (d.state === 'failed') {
      var button = el('button', { type: 'button', class: 'recover', text: 'Recover' });
      button.addEventListener('click', function () {
        recover(eventId, ev, d, button);
      });
      box.append(button);
    }
    if (o && o.blockedBy === jobId) {
      var skip = el('button', { type: 'button', class: 'skip', text: 'Skip (the key moves on)' });
      skip.addEventListener('click', function () {
        skipHead(eventId, jobId, skip);
      });
      box.append(skip);
    }
    return box;
  }

  async function skipHead(eventId, jobId, button) {
    button.disabled = true;
    var res = await fetch('/api/ordering/skip', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jobId: jobId }),
    }).catch(function () {
      return undefined;
    });
    var body = res ? await res.json().catch(function () { return {}; }) : {};
    if (!res || !res.ok) {
      button.disabled = false;
      say('Skip refused' + (res ? ' (HTTP ' + res.status + '): ' + (body.error || '') : ': the dashboard could not be reached'), 'error');
      return;
    }
    say('Skipped ' + jobId + ': it stays failed; its key moves on.', 'ok');
    lookup(eventId, true);
  }

  function render(body) {
    var parts = [];
    (body.events || []).forEach(function (ev) {
      var card = el('article', { class: 'event', 'data-tenant': ev.tenant },
        el('h2', {}, ev.tenant + ' · ' + (ev.type || 'type unknown') + ' · ', el('code', { text: body.eventId })));
      if (ev.createdAt) card.append(el('p', { text: 'created ' + when(ev.createdAt) }));
      var b = ev.bridge;
      if (b) {
        var line = 'bridge: ' + b.outcome + (b.at ? ' at ' + when(b.at) : '');
        if (b.endpoints && b.endpoints.length) line += ' → ' + b.endpoints.join(', ');
        card.append(el('p', { class: 'bridge', text: line }));
        (b.deadLetters || []).forEach(function (x) {
          card.append(el('p', { class: 'dead-letter', text: 'dead letter' + (x.endpoint ? ' (' + x.endpoint + ')' : '') +
            ': ' + x.kind + ': ' + x.reason }));
        });
      }
      (ev.deliveries || []).forEach(function (d) {
        card.append(deliveryBox(body.eventId, ev, d));
      });
      parts.push(card);
    });
    result.replaceChildren.apply(result, parts);
  }

  async function lookup(id, quiet) {
    clearTimeout(timer);
    if (!quiet) {
      polls = 0;
      say('Looking up ' + id + ' …');
    }
    var res;
    try {
      res = await fetch('/api/events/' + encodeURIComponent(id), { headers: { accept: 'application/json' } });
    } catch (e) {
      say('The dashboard could not be reached: ' + e.message, 'error');
      return;
    }
    var body = await res.json().catch(function () {
      return {};
    });
    if (!res.ok) {
      result.replaceChildren();
      say((res.status === 404 ? 'Not found: ' : 'Lookup failed (HTTP ' + res.status + '): ') + (body.error || id), 'error');
      return;
    }
    render(body);
    if (!quiet) say('');
    // Deliveries still under way: look again, for a minute at most.
    if (pending(body) && polls++ < 60) timer = setTimeout(function () {
      lookup(id, true);
    }, 1000);
  }

  // The event id of the answer shown, not whatever the input holds by now.
  async function recover(eventId, ev, d, button) {
    button.disabled = true;
    var url = '/api/tenants/' + encodeURIComponent(ev.tenant) + '/endpoints/' + encodeURIComponent(d.endpoint) + '/recover';
    var res;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ eventId: eventId }),
      });
    } catch (e) {
      button.disabled = false;
      say('The dashboard could not be reached: ' + e.message, 'error');
      return;
    }
    var body = await res.json().catch(function () {
      return {};
    });
    if (!res.ok) {
      button.disabled = false;
      say('Recover refused (HTTP ' + res.status + '): ' + (body.error || ''), 'error');
      return;
    }
    say('Recovered ' + body.recovered + ' delivery(ies) to ' + d.endpoint + '; sending again.', 'ok');
    polls = 0;
    lookup(eventId, true);
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var id = input.value.trim();
    if (!id) return;
    history.replaceState(null, '', '?id=' + encodeURIComponent(id));
    lookup(id, false);
  });

  var first = new URLSearchParams(location.search).get('id');
  if (first) {
    input.value = first;
    lookup(first, false);
  }
})();
`;
