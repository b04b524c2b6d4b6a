// The portal and tenant credentials against the usual attacks, over real HTTP and Redis: the
// session cookie's attributes (Secure behind https), the strict CSP, cross-site form posts and
// cross-origin requests refused, guessing of link codes and tokens throttled per client address,
// no token, link code or session id in any log line, and hostile text from receivers and
// tenants shown as text.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_LIMITS } from '../src/dashboard/auth-limiter.js';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { hashSecret } from '../src/access/credential.js';
import { until } from './helpers/browser.js';
import { basic } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';
import { PASSWORD, useTenantStack, type TenantStack } from './helpers/tenant-stack.js';

const { redis } = useTestRedis();
const stack = useTenantStack(redis);
const HOSTILE = `<script>document.title='pwned'</script><img src=x onerror="alert(1)">"'><svg onload=alert(2)>`;

let s: TenantStack;
const secrets: string[] = [];

/** GET with a chosen source address and headers (fetch can set neither). */
function get(url: string, path: string, headers: Record<string, string>, localAddress = '127.0.0.1') {
  const u = new URL(url);
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: u.port, path, headers, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function linkPath(tenant = 'acme', via = s.url): Promise<string> {
  const res = await fetch(`${via}/api/tenants/${tenant}/portal-links`, {
    method: 'POST',
    headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
    body: '{}',
  });
  const { url } = (await res.json()) as { url: string };
  secrets.push(url.split('/').pop()!);
  return new URL(url).pathname;
}

beforeAll(async () => {
  // Debug: every line the service can write is captured and checked.
  s = await stack.start({ deliver: true, env: { LOG_LEVEL: 'debug' } });
  await s.allow('acme', { allowPrivateUrls: true });
});

describe('the session cookie', () => {
  it('is HttpOnly, SameSite=Strict, limited to /portal, and not Secure over plain http', async () => {
    const res = await fetch(`${s.url}${await linkPath()}`);
    const cookie = res.headers.get('set-cookie')!;
    secrets.push(cookie.split(';')[0]!.split('=')[1]!);
    expect(cookie).toMatch(
      /^wss_portal=wsss_[A-Za-z0-9_-]{43}; Path=\/portal; Max-Age=43200; HttpOnly; SameSite=Strict$/,
    );
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  describe('behind https', () => {
    const extra: RunningDashboard[] = [];
    const start = async (dashboard: Record<string, unknown>) => {
      const config = { ...s.t.ctx.config, dashboard: { ...s.t.ctx.config.dashboard, ...dashboard } };
      const d = await startDashboard({ ...s.t.ctx, config } as typeof s.t.ctx, { logCredentials: false });
      extra.push(d);
      return d;
    };
    afterAll(async () => {
      for (const d of extra) await d.stop();
    });

    it('is Secure when a trusted proxy says https, and not when an untrusted client says so', async () => {
      const trusting = await start({ trustProxy: 'loopback' });
      const viaProxy = await get(trusting.url, await linkPath('acme', trusting.url), { 'x-forwarded-proto': 'https' });
      expect(String(viaProxy.headers['set-cookie'])).toMatch(/; Secure$/);
      const plain = await get(s.url, await linkPath(), { 'x-forwarded-proto': 'https' });
      expect(String(plain.headers['set-cookie'])).not.toMatch(/Secure/);
      secrets.push(String(viaProxy.headers['set-cookie']).split(';')[0]!.split('=')[1]!);
      secrets.push(String(plain.headers['set-cookie']).split(';')[0]!.split('=')[1]!);
      // The throttle counts the address the trusted proxy names, not the proxy's own.
      const bad = { authorization: `Bearer wsst_${'q'.repeat(43)}` };
      for (let i = 0; i < AUTH_LIMITS.maxFailures; i++)
        await get(trusting.url, '/api/tenants/acme/endpoints', { ...bad, 'x-forwarded-for': '203.0.113.7' });
      const blocked = await get(trusting.url, '/api/tenants/acme/endpoints', {
        ...bad,
        'x-forwarded-for': '203.0.113.7',
      });
      expect(blocked.status).toBe(429);
      const other = await get(trusting.url, '/api/tenants/acme/endpoints', {
        ...bad,
        'x-forwarded-for': '203.0.113.8',
      });
      expect(other.status).toBe(401);
    });

    it('with the allowance, a private URL still needs WSS_ALLOW_PRIVATE_URLS=true', async () => {
      const config = { ...s.t.ctx.config, allowPrivateUrls: false };
      const d = await startDashboard({ ...s.t.ctx, config }, { logCredentials: false });
      extra.push(d);
      const { token } = await s.token('acme');
      secrets.push(token);
      const res = await fetch(`${d.url}/api/tenants/acme/endpoints`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'local', url: 'http://127.0.0.1:9/x' }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { problems: string[] }).problems[0]).toMatch(
        /is a private address \(loopback\): this service delivers to public addresses only$/,
      );
    });

    it('is Secure when WSS_PORTAL_PUBLIC_URL is https, and links name that origin', async () => {
      const portal = { ...s.t.ctx.config.dashboard.portal, publicUrl: 'https://hooks.example.com' };
      const d = await start({ portal });
      const link = await fetch(`${d.url}/api/tenants/acme/portal-links`, {
        method: 'POST',
        headers: { authorization: basic('admin', PASSWORD) },
      });
      const { url } = (await link.json()) as { url: string };
      expect(url).toMatch(/^https:\/\/hooks\.example\.com\/portal\/link\/wssl_/);
      const opened = await get(d.url, new URL(url).pathname, {});
      expect(String(opened.headers['set-cookie'])).toMatch(/; Secure$/);
    });
  });
});

describe('portal links', () => {
  it('a HEAD (a link checker) does not spend the link', async () => {
    const path = await linkPath();
    const head = await fetch(`${s.url}${path}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('set-cookie')).toBeNull();
    const opened = await fetch(`${s.url}${path}`);
    expect(opened.status).toBe(200);
    secrets.push(opened.headers.get('set-cookie')!.split(';')[0]!.split('=')[1]!);
  });
});

describe('pages', () => {
  let cookie: string;
  beforeAll(async () => {
    cookie = await s.session('acme');
    secrets.push(cookie.split('=')[1]!);
  });

  it('carry a CSP without any script, and no script element', async () => {
    for (const path of ['/portal', '/portal/endpoints/orders', '/portal/deliveries', '/portal/link/wssl_x']) {
      const res = await s.call('GET', path, { cookie });
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.text).not.toMatch(/<script/i);
    }
  });

  it('without a session: signed out, 401', async () => {
    const res = await s.call('GET', '/portal', undefined);
    expect(res.status).toBe(401);
    expect(res.text).toContain('Your session has ended');
  });

  it('show what receivers answered and what tenants typed as text, never as markup', async () => {
    s.receiver.setHandler((req) =>
      req.path === '/acme-hostile' ? { status: 400, body: HOSTILE } : { status: 200, body: 'ok' },
    );
    const made = await s.form('/portal/endpoints', cookie, {
      id: 'hostile',
      url: `${s.receiver.url}/acme-hostile`,
      events: '*',
      description: HOSTILE,
      headers: `X-Note: ${HOSTILE.replace(/[^\x20-\x7e]/g, '')}`,
    });
    expect(made.status).toBe(201);
    const test = await s.form('/portal/endpoints/hostile/test', cookie, {});
    expect(test.status).toBe(303);
    const eventPath = test.headers.get('location')!.split('?')[0]!;
    const page = await until('the failed attempt on the event page', async () => {
      const res = await s.call('GET', eventPath, { cookie });
      return res.text.includes('HTTP 400') ? res.text : undefined;
    });
    const endpointPage = (await s.call('GET', '/portal/endpoints/hostile', { cookie })).text;
    for (const text of [page, endpointPage]) {
      expect(text).not.toContain('<script>');
      expect(text).not.toContain('<img');
      expect(text).not.toContain('<svg');
    }
    expect(page).toContain(
      '&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&lt;img src=x onerror=&quot;alert(1)&quot;&gt;',
    );
    expect(endpointPage).toContain('&lt;svg onload=alert(2)&gt;');
  });

  it('a form refused comes back with its values and every problem named', async () => {
    const res = await s.form('/portal/endpoints', cookie, { id: 'Bad Id', url: 'ftp://x', headers: 'no colon here' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('field &quot;headers&quot;: line 1 is not &quot;Name: value&quot;');
    const again = await s.form('/portal/endpoints', cookie, { id: 'Bad Id', url: 'ftp://x' });
    expect(again.text).toContain('field &quot;id&quot;: must match');
    expect(again.text).toContain('field &quot;url&quot;: must be an absolute http:// or https:// URL');
    expect(again.text).toContain('value="ftp://x"');
  });

  it('Ed25519 needs the operator to have set WSS_SECRETS_KEY', async () => {
    const res = await s.form('/portal/endpoints', cookie, {
      id: 'ed',
      url: 'https://example.com/x',
      scheme: 'standard-webhooks-ed25519',
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('the operator has not set WSS_SECRETS_KEY');
  });

  it('signing out ends the session for good', async () => {
    const mine = await s.session('acme');
    secrets.push(mine.split('=')[1]!);
    const out = await s.form('/portal/logout', mine, {});
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^wss_portal=; Path=\/portal; Max-Age=0/);
    expect((await s.call('GET', '/portal', { cookie: mine })).status).toBe(401);
  });
});

describe('cross-site requests with a valid session', () => {
  let cookie: string;
  beforeAll(async () => {
    cookie = await s.session('acme');
    secrets.push(cookie.split('=')[1]!);
  });
  const post = (headers: Record<string, string>) =>
    s.call('POST', '/portal/endpoints/orders/disable', { cookie }, '', {
      'content-type': 'application/x-www-form-urlencoded',
      ...headers,
    });

  it('are refused: another site, another origin, a sibling subdomain, or no origin at all', async () => {
    const cases: Array<Record<string, string>> = [
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      { 'sec-fetch-site': 'same-site', origin: 'https://other.hooks.example' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { referer: 'https://evil.example/page' },
      {},
    ];
    for (const headers of cases) {
      const res = await post(headers);
      expect([headers, res.status]).toEqual([headers, 403]);
      expect(res.text).toContain('did not come from the portal itself');
    }
    expect((await s.t.ctx.registry.getEndpointConfig('acme', 'orders'))?.enabled).toBe(true);
  });

  it('the same post from the portal itself goes through', async () => {
    const res = await post({ 'sec-fetch-site': 'same-origin', origin: s.url });
    expect(res.status).toBe(303);
    expect((await s.t.ctx.registry.getEndpointConfig('acme', 'orders'))?.enabled).toBe(false);
    expect((await s.form('/portal/endpoints/orders/enable', cookie, {})).status).toBe(303);
  });

  it('no page or API answer allows another origin to read it (no CORS)', async () => {
    const { token } = await s.token('acme');
    secrets.push(token);
    for (const [path, cred] of [
      ['/portal', { cookie }],
      ['/api/tenants/acme/endpoints', { token }],
    ] as const) {
      const res = await s.call('GET', path, cred, undefined, { origin: 'https://evil.example' });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
    const preflight = await s.call('OPTIONS', '/api/tenants/acme/endpoints', undefined, undefined, {
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization',
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('guessing', () => {
  let clock = Date.now();
  let timed: RunningDashboard;
  beforeAll(async () => {
    timed = await startDashboard({ ...s.t.ctx, now: () => clock }, { logCredentials: false });
  });
  afterAll(async () => {
    await timed?.stop();
  });

  it(`link codes: after ${AUTH_LIMITS.maxFailures} wrong ones from an address, 429 there even for a good link; other addresses unaffected`, async () => {
    clock = Date.now();
    for (let i = 0; i < AUTH_LIMITS.maxFailures; i++)
      expect((await get(timed.url, `/portal/link/wssl_${'x'.repeat(43)}`, {})).status).toBe(404);
    const good = await linkPath('acme', timed.url);
    const blocked = await get(timed.url, good, {});
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.headers['set-cookie']).toBeUndefined();
    // The good link was not spent by the refused attempt: it opens from another address.
    const elsewhere = await get(timed.url, good, {}, '127.0.0.2');
    expect(elsewhere.status).toBe(200);
    secrets.push(String(elsewhere.headers['set-cookie']).split(';')[0]!.split('=')[1]!);
    clock += AUTH_LIMITS.windowMs;
    expect((await get(timed.url, await linkPath('acme', timed.url), {})).status).toBe(200);
  });

  it('tokens: throttled alike; a good token of one tenant does not reset the count', async () => {
    clock = Date.now();
    const { token } = await s.token('acme');
    secrets.push(token);
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    for (let i = 0; i < AUTH_LIMITS.maxFailures - 1; i++) {
      expect(
        (await get(timed.url, '/api/tenants/acme/endpoints', auth(`wsst_${'y'.repeat(43)}`), '127.0.0.3')).status,
      ).toBe(401);
      expect((await get(timed.url, '/api/tenants/acme/endpoints', auth(token), '127.0.0.3')).status).toBe(200);
    }
    expect((await get(timed.url, '/api/tenants/acme/endpoints', auth('garbage'), '127.0.0.3')).status).toBe(401);
    expect((await get(timed.url, '/api/tenants/acme/endpoints', auth(token), '127.0.0.3')).status).toBe(429);
    expect((await get(timed.url, '/api/tenants/acme/endpoints', auth(token), '127.0.0.4')).status).toBe(200);
  });
});

describe('logs', () => {
  it('hold no token, link code or session id (nor their hashes) in any line', async () => {
    expect(secrets.length).toBeGreaterThan(10);
    const all = s.t.logs.join('\n');
    expect(all).toContain('portal: link opened, session started');
    expect(all).toContain('tenant API: refused a token');
    const requests = s.t.logs
      .filter((l) => /"msg":"(portal|tenant API): request"/.test(l))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(requests.length).toBeGreaterThan(10);
    for (const r of requests)
      expect(r).toMatchObject({ tenant: 'acme', credential: expect.stringMatching(/^(tok|ses)_[0-9a-f]{12}$/) });
    for (const secret of secrets) {
      expect(secret).toMatch(/^wss[tls]_/);
      expect(all).not.toContain(secret);
      expect(all).not.toContain(hashSecret(secret));
    }
    expect(all).not.toMatch(/wss[tls]_[A-Za-z0-9_-]{43}/);
  });
});
