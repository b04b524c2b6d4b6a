// Known answers for the pure parts of tenant access and the portal: escaping, form parsing, the
// tenant input rules and merge, credentials' shapes and hashes, lifetimes, session ends,
// cookies, the cross-site rule for cookie sessions, the style sheet's colour, the new settings,
// and the route lists read from routers.
import { Router } from 'express';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { hashSecret, looksLike, newId, newSecret, TOKEN_PREFIX } from '../src/access/credential.js';
import { policyProblems } from '../src/access/policy.js';
import { sessionEnd, type SessionRecord } from '../src/access/sessions.js';
import { parseLifetime } from '../src/access/tokens.js';
import { routesOf } from '../src/dashboard/route-list.js';
import { doneNotice } from '../src/portal/context.js';
import { endpointInputFromForm, parseEventList, parseHeaderLines } from '../src/portal/forms.js';
import { escapeHtml, html, when } from '../src/portal/html.js';
import { cookieValue, portalCrossSiteReason, sessionCookie } from '../src/portal/session.js';
import { portalCss } from '../src/portal/style.js';
import { mergeChange, tenantInputProblems } from '../src/tenant-api/endpoint-input.js';
import { parseEndpoint } from '../src/tenants/schema.js';

describe('html', () => {
  it('escapes every interpolated value, keeps what html built, joins arrays', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p title="${'"x"'}">${inner}${['<', html`<br />`]}${null}${undefined}${false}${0}</p>`.text).toBe(
      '<p title="&quot;x&quot;"><b>&lt;i&gt;</b>&lt;<br />0</p>',
    );
    expect(when(true, 'selected').text).toBe('selected');
    expect(when(true, 'onclick="x"').text).toBe('');
    expect(when(false, 'checked').text).toBe('');
  });
});

describe('portal forms', () => {
  it('reads header lines and event lists', () => {
    expect(parseHeaderLines('X-A: 1\n\n  X-B:two words  \r\nbroken')).toEqual({
      headers: { 'X-A': '1', 'X-B': 'two words' },
      problems: ['field "headers": line 4 is not "Name: value"'],
    });
    expect(parseEventList(' order.*, invoice.paid\n*  ')).toEqual(['order.*', 'invoice.paid', '*']);
  });

  it('turns the add form into API input, leaving empty fields to the defaults', () => {
    const form = {
      id: ' main ',
      url: 'https://x.example/h',
      events: '',
      description: '',
      headers: '',
      scheme: 'wss',
      filter: 'a',
    };
    expect(endpointInputFromForm(form, { creating: true, allowExpressions: false })).toEqual({
      input: { id: 'main', url: 'https://x.example/h', headers: {}, signature: { scheme: 'wss' } },
      problems: [],
    });
  });

  it('turns the edit form into a change: emptied optional fields are removed, an unchanged scheme is not sent', () => {
    const form = {
      url: 'https://x.example/h',
      events: 'a.b',
      description: '',
      headers: 'X-K: [hidden]',
      scheme: 'wss',
      filter: '',
      transform: 't',
    };
    expect(endpointInputFromForm(form, { creating: false, allowExpressions: true, currentScheme: 'wss' })).toEqual({
      input: {
        url: 'https://x.example/h',
        events: ['a.b'],
        description: null,
        headers: { 'X-K': '[hidden]' },
        filter: null,
        transform: 't',
      },
      problems: [],
    });
  });
});

describe('what a tenant may send', () => {
  it('names every refused field and why, and what is missing', () => {
    expect(
      tenantInputProblems(
        { secretEnv: 'WSS_SECRET_X', retry: {}, broken: {}, filter: 'x', nope: 1 },
        { creating: true, allowExpressions: false },
      ),
    ).toEqual([
      `field "secretEnv": not accepted from a tenant: it names an environment variable of the operator's workers`,
      'field "retry": set by the operator',
      'field "broken": set by the service; changing the filter or transform clears it',
      'field "nope": unknown field (a tenant may send id, url, events, headers, description, enabled, signature, filter, transform)',
      'field "id": required',
      'field "url": required',
      `field "filter": filters and transforms need the operator's allowance for this tenant`,
    ]);
    expect(
      tenantInputProblems({ id: 'x', url: 'https://e.x', filter: 'a' }, { creating: true, allowExpressions: true }),
    ).toEqual([]);
    expect(tenantInputProblems({ headers: [], description: 3 }, { creating: false, allowExpressions: false })).toEqual([
      'field "headers": must be an object of header names to text values',
      'field "description": must be text (or null to remove it)',
    ]);
  });

  it('merges a change into the stored endpoint', () => {
    const stored = parseEndpoint({
      id: 'e',
      url: 'https://e.example/h',
      secret: 'stored-secret-0123456789',
      description: 'd',
      filter: 'x',
      headers: { Authorization: 'Bearer s3', 'X-Team': 'a' },
      enabled: false,
      disabled: { reason: 'HTTP 410', since: '2026-01-01T00:00:00Z' },
      broken: { reason: 'EXPR', since: '2026-01-01T00:00:00Z' },
      timeoutMs: 2_000,
    });
    const kept = mergeChange(stored, { description: null, headers: { authorization: '[hidden]', 'X-Team': 'b' } });
    expect(kept).toMatchObject({ secret: 'stored-secret-0123456789', timeoutMs: 2_000, filter: 'x', enabled: false });
    expect(kept.headers).toEqual({ authorization: 'Bearer s3', 'X-Team': 'b' });
    expect(kept).not.toHaveProperty('description');
    expect(kept.disabled).toEqual(stored.disabled);
    expect(kept.broken).toEqual(stored.broken);
    const again = mergeChange(stored, { enabled: true, filter: null });
    expect(again).not.toHaveProperty('disabled');
    expect(again).not.toHaveProperty('broken');
    expect(again).not.toHaveProperty('filter');
    // A header the endpoint does not have, sent as "[hidden]", is taken as typed (and shown so).
    expect(mergeChange(stored, { headers: { 'X-New': '[hidden]' } }).headers).toEqual({ 'X-New': '[hidden]' });
  });
});

describe('credentials', () => {
  it('are 256 random bits behind a prefix, stored as SHA-256', () => {
    const t = newSecret(TOKEN_PREFIX);
    expect(t).toMatch(/^wsst_[A-Za-z0-9_-]{43}$/);
    expect(newSecret(TOKEN_PREFIX)).not.toBe(t);
    expect(looksLike(t, TOKEN_PREFIX)).toBe(true);
    expect(looksLike(t, 'wssl_')).toBe(false);
    expect(looksLike(`${t}x`, TOKEN_PREFIX)).toBe(false);
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(newId('tok_')).toMatch(/^tok_[0-9a-f]{12}$/);
  });

  it('lifetimes: 90m, 12h, 30d, at most 3650d', () => {
    expect(parseLifetime('90m', 'x')).toBe(5_400_000);
    expect(parseLifetime('12h', 'x')).toBe(43_200_000);
    expect(parseLifetime('30d', 'x')).toBe(2_592_000_000);
    for (const bad of ['0d', '3651d', '1y', '', '-1d', '1.5h'])
      expect(() => parseLifetime(bad, '--expires')).toThrow(
        '--expires: must be a duration such as 90m, 12h or 30d, at most 3650d',
      );
  });

  it('a session ends when idle too long or at its maximum age', () => {
    const s: SessionRecord = {
      id: 'ses_x',
      tenant: 't',
      readOnly: false,
      link: 'lnk_x',
      startedMs: 1_000,
      lastSeenMs: 5_000,
    };
    const limits = { idleMs: 10_000, maxMs: 100_000 };
    expect(sessionEnd(s, limits, 14_999)).toBeUndefined();
    expect(sessionEnd(s, limits, 15_000)).toBe('idle');
    expect(sessionEnd({ ...s, lastSeenMs: 100_500 }, limits, 101_000)).toBe('max');
  });

  it('allowance changes: booleans of known names only', () => {
    expect(policyProblems({ allowPrivateUrls: true, allowExpressions: false })).toEqual([]);
    expect(policyProblems({ allowPrivateUrls: 1, x: true })).toEqual([
      'field "allowPrivateUrls": must be true or false',
      'field "x": unknown field (expected allowPrivateUrls, allowExpressions)',
    ]);
  });
});

describe('cookie and cross-site rules', () => {
  it('reads and writes the cookie', () => {
    expect(cookieValue('a=1; wss_portal=wsss_abc ; b=2', 'wss_portal')).toBe('wsss_abc');
    expect(cookieValue('xwss_portal=1', 'wss_portal')).toBeUndefined();
    expect(cookieValue(undefined, 'wss_portal')).toBeUndefined();
    expect(sessionCookie('wsss_abc', 3_600_000, true)).toBe(
      'wss_portal=wsss_abc; Path=/portal; Max-Age=3600; HttpOnly; SameSite=Strict; Secure',
    );
  });

  it('a write must show that it came from this origin', () => {
    const at = (method: string, headers: Record<string, string>) =>
      portalCrossSiteReason({ method, headers: { host: 'hooks.example', ...headers } });
    expect(at('GET', {})).toBeUndefined();
    expect(at('POST', { 'sec-fetch-site': 'same-origin' })).toBeUndefined();
    expect(at('POST', { origin: 'https://hooks.example' })).toBeUndefined();
    expect(at('POST', { 'sec-fetch-site': 'same-site' })).toBe('Sec-Fetch-Site is "same-site"');
    expect(at('POST', { origin: 'https://evil.example' })).toBe('Origin does not match Host');
    expect(at('POST', { referer: 'https://hooks.example/portal' })).toBe(
      'neither Sec-Fetch-Site nor Origin says where it came from',
    );
    expect(at('POST', {})).toBe('neither Sec-Fetch-Site nor Origin says where it came from');
  });

  it('the ?done= notice is one of the fixed texts', () => {
    expect(doneNotice({ done: 'recovered', n: '1' })).toBe('Recovered 1 delivery.');
    expect(doneNotice({ done: 'recovered', n: '<b>' })).toBe('Recovered 0 deliveries.');
    expect(doneNotice({ done: '<script>' })).toBeUndefined();
  });
});

describe('branding and settings', () => {
  it('the style sheet takes only a #rrggbb accent', () => {
    expect(portalCss('#aa3300')).toContain('--accent:#aa3300;');
    const sneaky = portalCss('red;}body{display:none');
    expect(sneaky).toContain('--accent:#2557d6;');
    expect(sneaky).not.toContain('display:none');
  });

  it('start-up refuses a bad colour, name, public URL or proxy list, naming the variable', () => {
    const bad = (env: Record<string, string>) => () => parseConfig({ ...env });
    expect(bad({ WSS_PORTAL_ACCENT: 'red;}body{x:y' })).toThrow(/WSS_PORTAL_ACCENT: must be a colour as #rrggbb/);
    expect(bad({ WSS_PORTAL_PRODUCT_NAME: 'a\u0007b' })).toThrow(/WSS_PORTAL_PRODUCT_NAME/);
    expect(bad({ WSS_PORTAL_PUBLIC_URL: 'https://x.example/portal' })).toThrow(
      /WSS_PORTAL_PUBLIC_URL: expected an http/,
    );
    expect(bad({ WSS_TRUST_PROXY: 'everyone' })).toThrow(/WSS_TRUST_PROXY/);
    expect(bad({ WSS_PORTAL_LINK_TTL: '2h' })).toThrow(/WSS_PORTAL_LINK_TTL/);
    const ok = parseConfig({
      WSS_TRUST_PROXY: 'loopback, 10.0.0.0/8',
      WSS_PORTAL_PUBLIC_URL: 'https://x.example',
      WSS_PORTAL_LINK_TTL: '2m',
    });
    expect(ok.dashboard.trustProxy).toBe('loopback, 10.0.0.0/8');
    expect(ok.dashboard.portal).toMatchObject({
      publicUrl: 'https://x.example',
      linkTtlMs: 120_000,
      productName: 'Webhooks',
    });
  });
});

describe('route lists', () => {
  it('are read from a router and the routers mounted in it', () => {
    const inner = Router();
    inner.post('/b/:id', () => undefined);
    const outer = Router();
    outer.get('/a', () => undefined);
    outer.use(inner);
    outer.use('/sub', inner);
    outer
      .route('/c')
      .get(() => undefined)
      .delete(() => undefined);
    expect(routesOf(outer, '/x')).toEqual([
      { method: 'GET', path: '/x/a' },
      { method: 'POST', path: '/x/b/:id' },
      { method: 'POST', path: '/x/sub/b/:id' },
      { method: 'GET', path: '/x/c' },
      { method: 'DELETE', path: '/x/c' },
    ]);
  });
});
