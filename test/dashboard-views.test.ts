// The dashboard's pure parts: credentials, the cross-site check, job views, the public
// endpoint view and XINFO parsing.
import { describe, expect, it } from 'vitest';
import { credentialsMatch, parseBasicAuth, resolveCredentials } from '../src/dashboard/auth.js';
import { jobDataView, jobTitle } from '../src/dashboard/bull-board.js';
import { crossSiteReason } from '../src/dashboard/csrf.js';
import { publicEndpoint } from '../src/dashboard/public-view.js';
import { groupFacts } from '../src/probes/scrape-gauges.js';
import { parseEndpoint } from '../src/tenants/schema.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('basic auth parsing', () => {
  it('reads user and password, the password may contain colons', () => {
    expect(parseBasicAuth(`Basic ${b64('admin:pa:ss')}`)).toEqual({ user: 'admin', password: 'pa:ss' });
    expect(parseBasicAuth(`basic  ${b64('a:')}`)).toEqual({ user: 'a', password: '' });
  });

  it.each([undefined, '', 'Bearer abc', `Basic ${b64('nocolon')}`, 'Basic !!!', `Digest ${b64('a:b')}`])(
    'refuses %j',
    (h) => {
      expect(parseBasicAuth(h)).toBeUndefined();
    },
  );

  it('matches only the exact user and password', () => {
    const want = { user: 'admin', password: 'secret-pw' };
    expect(credentialsMatch(want, { user: 'admin', password: 'secret-pw' })).toBe(true);
    expect(credentialsMatch(want, { user: 'admin', password: 'secret-pw ' })).toBe(false);
    expect(credentialsMatch(want, { user: 'Admin', password: 'secret-pw' })).toBe(false);
    expect(credentialsMatch(want, { user: 'admin', password: '' })).toBe(false);
    expect(credentialsMatch(want, undefined)).toBe(false);
  });

  it('resolves configured, generated and disabled credentials', () => {
    expect(resolveCredentials({ auth: 'on', user: 'ops', password: 'pw-from-env' })).toEqual({
      mode: 'basic',
      user: 'ops',
      password: 'pw-from-env',
      generated: false,
    });
    expect(resolveCredentials({ auth: 'on', user: 'admin', password: undefined }, () => 'rnd')).toEqual({
      mode: 'basic',
      user: 'admin',
      password: 'rnd',
      generated: true,
    });
    expect(resolveCredentials({ auth: 'off', user: 'admin', password: 'x' })).toEqual({ mode: 'off' });
  });
});

describe('crossSiteReason', () => {
  const host = { host: 'dash.internal:3000' };
  it.each([
    ['GET', { ...host, origin: 'http://evil.example' }, false],
    ['HEAD', { ...host, 'sec-fetch-site': 'cross-site' }, false],
    ['POST', { ...host }, false],
    ['POST', { ...host, 'sec-fetch-site': 'same-origin', origin: 'http://dash.internal:3000' }, false],
    ['PUT', { ...host, 'sec-fetch-site': 'none' }, false],
    ['PUT', { ...host, origin: 'http://dash.internal:3000' }, false],
    ['PUT', { ...host, origin: 'https://DASH.internal:3000' }, false],
    ['DELETE', { ...host, referer: 'http://dash.internal:3000/admin/queues' }, false],
    ['POST', { ...host, 'sec-fetch-site': 'cross-site', origin: 'http://dash.internal:3000' }, true],
    ['POST', { ...host, 'sec-fetch-site': 'same-site' }, true],
    ['PUT', { ...host, origin: 'http://evil.example' }, true],
    ['PUT', { ...host, origin: 'http://dash.internal:3001' }, true],
    ['PUT', { ...host, origin: 'null' }, true],
    ['PUT', { ...host, origin: 'not a url' }, true],
    ['PATCH', { ...host, referer: 'http://evil.example/x' }, true],
    ['PUT', { origin: 'http://dash.internal:3000' }, true],
  ])('%s %j refused: %s', (method, headers, refused) => {
    expect(crossSiteReason(method, headers) !== undefined).toBe(refused);
  });
});

describe('job views', () => {
  const data = {
    eventId: 'evt_1',
    tenant: 'acme',
    endpoint: 'orders',
    type: 'order.paid',
    createdAt: Date.UTC(2030, 5, 6, 7, 8, 9, 10),
    body: '{"a": 1 }',
  };
  it('titles a delivery job by tenant/endpoint, type and event id', () => {
    expect(jobTitle({ name: 'deliver', data })).toBe('acme/orders · order.paid · evt_1');
    expect(jobTitle({ name: 'other', data: { x: 1 } })).toBe('other');
  });

  it('shows the data in a fixed order with an ISO time and the body byte for byte', () => {
    const view = jobDataView(data) as Record<string, unknown>;
    expect(Object.keys(view)).toEqual(['tenant', 'endpoint', 'eventId', 'type', 'createdAt', 'body', 'eventPage']);
    expect(view.createdAt).toBe('2030-06-06T07:08:09.010Z');
    expect(view.body).toBe('{"a": 1 }');
    expect(view.eventPage).toBe('/admin/events?id=evt_1');
    expect(jobDataView('odd')).toBe('odd');
  });
});

describe('publicEndpoint', () => {
  it('never carries the secret, and hides credential-like header values', () => {
    const ep = parseEndpoint({
      id: 'orders',
      url: 'https://x.example/h',
      secret: 'sixteen-chars-secret!',
      headers: { Authorization: 'Bearer t0k', 'X-Api-Key': 'k', 'X-Source': 'bus' },
    });
    const view = publicEndpoint(ep);
    expect(JSON.stringify(view)).not.toMatch(/sixteen-chars-secret|t0k/);
    expect(view).toMatchObject({
      secretSet: true,
      headers: { Authorization: '[hidden]', 'X-Api-Key': '[hidden]', 'X-Source': 'bus' },
    });
    expect(
      publicEndpoint(parseEndpoint({ id: 'e', url: 'https://x.example/', secretEnv: 'WSS_SECRET_E' })),
    ).toMatchObject({ secretSet: true, secretEnv: 'WSS_SECRET_E' });
  });
});

describe('groupFacts', () => {
  const reply = [
    ['name', 'other', 'consumers', 1, 'pending', 9, 'last-delivered-id', '0-0', 'entries-read', 0, 'lag', 9],
    ['name', 'wss-bridge', 'consumers', 2, 'pending', 3, 'last-delivered-id', '1-1', 'entries-read', 5, 'lag', 7],
  ];
  it('reads lag and pending of the named group', () => {
    expect(groupFacts(reply, 'wss-bridge')).toEqual({ lag: 7, pending: 3 });
    expect(groupFacts(reply, 'missing')).toBeUndefined();
    expect(groupFacts([['name', 'g', 'pending', 0, 'lag', null]], 'g')).toEqual({ lag: undefined, pending: 0 });
    expect(groupFacts('junk', 'g')).toBeUndefined();
  });
});
