// Tenant isolation, route by route. The routes come from the dashboard's own routers
// (route-list.ts), so a route added later is in these tables without anyone adding it. With
// tenant acme's token and with acme's portal session: every route of tenant globex answers
// 404 (the same answer as a tenant that does not exist) and changes nothing; acme's own routes
// naming globex's objects answer 404; every operator-only route refuses; a read-only token or
// session cannot write. Then: a revoked token stops on its next request (in another dashboard
// process too), an expired session stops at once, a portal link opens once and not after its
// expiry (time injected through `now`).
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { routesOf, type RouteInfo } from '../src/dashboard/route-list.js';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { useTestRedis } from './helpers/redis-server.js';
import { PASSWORD, useTenantStack, type Credential, type TenantStack } from './helpers/tenant-stack.js';
import { basic } from './helpers/dashboard-context.js';
import { until } from './helpers/browser.js';

const { redis } = useTestRedis();
const stack = useTenantStack(redis);

let s: TenantStack;
let tokenA: string;
let readOnlyA: string;
let sessionA: string;
let readOnlySessionA: string;
let eventB: string;
let tokenIdB: string;

// A plausible body for each write, so a refusal cannot be a validation error in disguise.
function bodyFor(r: RouteInfo): unknown {
  if (r.method === 'GET' || r.method === 'DELETE') return undefined;
  if (/\/endpoints$/.test(r.path)) return { id: 'intruder', url: 'https://example.com/x', events: ['*'] };
  if (/\/endpoints\/:endpoint$/.test(r.path) && r.method === 'PATCH') return { url: 'https://example.com/stolen' };
  if (/\/recover$/.test(r.path)) return { since: '1d' };
  if (/\/replay$/.test(r.path)) return { from: '1d', to: 'now' };
  if (/\/tokens$/.test(r.path)) return { name: 'x' };
  if (/\/access$/.test(r.path)) return { allowPrivateUrls: true, allowExpressions: true };
  if (r.path === '/api/events') return { tenant: 'globex', type: 'order.created', data: {} };
  return {};
}

/** The route's path for tenant `tenant`, its endpoint and ids those of globex's objects. */
function fill(path: string, tenant: string): string {
  return path
    .replace(':tenant', tenant)
    .replace(':endpoint', tenant === 'acme' ? 'orders' : 'billing')
    .replace(':id', path.includes('/tokens/') ? tokenIdB : eventB)
    .replace(':code', 'wssl_nothing');
}

/** What globex has and gets: compared before and after each table. */
async function globexState() {
  const { t, receiver } = s;
  const ep = await t.ctx.registry.getEndpointConfig('globex', 'billing');
  const tokens = await s.call('GET', '/api/tenants/globex/tokens', { basic: true });
  const access = await s.call('GET', '/api/tenants/globex/access', { basic: true });
  const endpoints = [...(t.ctx.registry.snapshot().tenants.get('globex')?.endpoints.keys() ?? [])];
  return JSON.stringify({
    ep,
    endpoints,
    tokens: tokens.json,
    access: access.json,
    toGlobex: receiver.requests.filter((r) => r.path === '/globex').length,
    stream: await t.ctx.redis.xlen(t.config.stream),
  });
}

const tenantRoutes = () => routesOf(s.dash.routers.tenant, '/api/tenants/:tenant');
const operatorRoutes = () => [...routesOf(s.dash.routers.access, '/api'), ...routesOf(s.dash.routers.admin, '/api')];
const portalRoutes = () => routesOf(s.dash.routers.portal, '/portal');
const key = (r: RouteInfo) => `${r.method} ${r.path}`;

beforeAll(async () => {
  s = await stack.start({ deliver: true });
  tokenA = (await s.token('acme')).token;
  readOnlyA = (await s.token('acme', { readOnly: true })).token;
  tokenIdB = (await s.token('globex')).id;
  sessionA = await s.session('acme');
  readOnlySessionA = await s.session('acme', { readOnly: true });
  // One of globex's events, delivered, so its id exists in the delivery log.
  eventB = 'evt_globex_1';
  const pub = await s.call(
    'POST',
    '/api/events',
    { basic: true },
    { tenant: 'globex', type: 'order.created', data: { n: 1 }, id: eventB },
  );
  expect(pub.status).toBe(202);
  await until('globex event delivered', async () =>
    s.receiver.requests.some((r) => r.path === '/globex') ? true : undefined,
  );
});

describe('the route lists come from the routers', () => {
  it('lists every tenant, operator and portal route', () => {
    const tenant = tenantRoutes().map(key);
    expect(tenant).toContain('POST /api/tenants/:tenant/endpoints');
    expect(tenant).toContain('POST /api/tenants/:tenant/replay');
    expect(tenant.length).toBeGreaterThanOrEqual(12);
    const operator = operatorRoutes().map(key);
    expect(operator).toContain('POST /api/tenants/:tenant/tokens');
    expect(operator).toContain('POST /api/tenants/:tenant/portal-links');
    expect(operator).toContain('GET /api/tenants');
    expect(operator).toContain('POST /api/replay');
    const portal = portalRoutes().map(key);
    expect(portal).toContain('GET /portal/endpoints/:endpoint');
    expect(portal).toContain('POST /portal/endpoints/:endpoint/recover');
  });
});

describe("with acme's token", () => {
  it('every route of globex answers 404, exactly as for a tenant that does not exist, and changes nothing', async () => {
    const before = await globexState();
    for (const r of tenantRoutes()) {
      const other = await s.call(r.method, fill(r.path, 'globex'), { token: tokenA }, bodyFor(r));
      const none = await s.call(r.method, fill(r.path, 'no-such-tenant'), { token: tokenA }, bodyFor(r));
      expect([key(r), other.status, other.json]).toEqual([
        key(r),
        404,
        { error: 'not found', problems: ['not found'] },
      ]);
      expect([key(r), none.status, none.text]).toEqual([key(r), 404, other.text]);
    }
    expect(await globexState()).toBe(before);
  });

  it("acme's own routes naming globex's endpoint or event answer 404", async () => {
    const before = await globexState();
    const own = tenantRoutes().filter((r) => r.path.includes(':endpoint') || r.path.includes(':id'));
    expect(own.length).toBeGreaterThanOrEqual(8);
    for (const r of own) {
      const path = r.path.replace(':tenant', 'acme').replace(':endpoint', 'billing').replace(':id', eventB);
      const res = await s.call(r.method, path, { token: tokenA }, bodyFor(r));
      expect([key(r), res.status]).toEqual([key(r), 404]);
    }
    expect(await globexState()).toBe(before);
  });

  it('every operator-only route refuses it (403, or 404 for another tenant), and Bull Board, the event page and /metrics too', async () => {
    const before = await globexState();
    const tenantKeys = new Set(tenantRoutes().map(key));
    for (const r of operatorRoutes()) {
      if (tenantKeys.has(key(r))) continue; // a tenant route of the same method and path: tested above
      for (const tenant of ['acme', 'globex']) {
        const res = await s.call(r.method, fill(r.path, tenant), { token: tokenA }, bodyFor(r));
        const expected = r.path.includes(':tenant') && tenant === 'globex' ? 404 : 403;
        expect([key(r), tenant, res.status]).toEqual([key(r), tenant, expected]);
      }
    }
    expect((await s.call('GET', '/admin/queues', { token: tokenA })).status).toBe(401);
    expect((await s.call('GET', '/admin/events', { token: tokenA })).status).toBe(401);
    expect((await s.call('GET', '/metrics', { token: tokenA })).status).toBe(403);
    expect(await globexState()).toBe(before);
  });

  it('a read-only token reads but cannot write anything', async () => {
    const before = JSON.stringify(await s.t.ctx.registry.getEndpointConfig('acme', 'orders'));
    const requests = s.receiver.requests.length;
    for (const r of tenantRoutes()) {
      const res = await s.call(r.method, fill(r.path, 'acme'), { token: readOnlyA }, bodyFor(r));
      if (r.method === 'GET') expect([key(r), res.status]).not.toEqual([key(r), 403]);
      else
        expect([key(r), res.status, (res.json as { error: string }).error]).toEqual([
          key(r),
          403,
          'this token is read-only',
        ]);
    }
    expect((await s.call('GET', '/api/tenants/acme/endpoints', { token: readOnlyA })).status).toBe(200);
    expect(JSON.stringify(await s.t.ctx.registry.getEndpointConfig('acme', 'orders'))).toBe(before);
    expect(s.receiver.requests.length).toBe(requests);
  });
});

describe("with acme's portal session", () => {
  it('the cookie is no credential for /api: every tenant and operator route refuses it and nothing changes', async () => {
    const before = await globexState();
    for (const r of [...tenantRoutes(), ...operatorRoutes()]) {
      for (const tenant of ['acme', 'globex']) {
        const res = await s.call(r.method, fill(r.path, tenant), { cookie: sessionA }, bodyFor(r), {
          origin: s.url,
          'sec-fetch-site': 'same-origin',
        });
        expect([key(r), tenant, res.status]).toEqual([key(r), tenant, 401]);
      }
    }
    expect((await s.call('GET', '/admin/queues', { cookie: sessionA })).status).toBe(401);
    expect(await globexState()).toBe(before);
  });

  it("every portal route naming globex's endpoint or event answers 404 and changes nothing", async () => {
    const before = await globexState();
    const routes = portalRoutes().filter((r) => r.path.includes(':endpoint') || r.path.includes(':id'));
    expect(routes.length).toBeGreaterThanOrEqual(9);
    for (const r of routes) {
      const path = r.path.replace(':endpoint', 'billing').replace(':id', eventB);
      const res =
        r.method === 'GET'
          ? await s.call('GET', path, { cookie: sessionA })
          : await s.form(path, sessionA, {
              confirm: 'yes',
              since: '1d',
              overlap: '0s',
              url: 'https://example.com/x',
              eventId: eventB,
            });
      expect([key(r), res.status]).toEqual([key(r), 404]);
      // Nothing of globex's is shown: not its endpoint's URL, not its deliveries.
      expect(res.text).not.toContain(`${s.receiver.url}/globex`);
      expect(res.text).not.toContain('HTTP 200');
    }
    expect(await globexState()).toBe(before);
  });

  it("the portal's pages show acme only", async () => {
    const list = await s.call('GET', '/portal', { cookie: sessionA });
    expect(list.status).toBe(200);
    expect(list.text).toContain('orders');
    expect(list.text).not.toContain('billing');
    expect(list.text).not.toContain('globex');
    const deliveries = await s.call('GET', '/portal/deliveries?since=1d', { cookie: sessionA });
    expect(deliveries.text).not.toContain(eventB);
  });

  it('a read-only session cannot post any form', async () => {
    const before = JSON.stringify(await s.t.ctx.registry.getEndpointConfig('acme', 'orders'));
    const posts = portalRoutes().filter((r) => r.method === 'POST' && r.path !== '/portal/logout');
    expect(posts.length).toBeGreaterThanOrEqual(8);
    for (const r of posts) {
      const res = await s.form(r.path.replace(':endpoint', 'orders'), readOnlySessionA, {
        confirm: 'yes',
        since: '1d',
        id: 'x',
        url: 'https://example.com/x',
        from: '1h',
        to: 'now',
      });
      expect([key(r), res.status]).toEqual([key(r), 403]);
    }
    expect(JSON.stringify(await s.t.ctx.registry.getEndpointConfig('acme', 'orders'))).toBe(before);
    expect((await s.call('GET', '/portal', { cookie: readOnlySessionA })).status).toBe(200);
  });
});

describe('revocation and expiry', () => {
  let clock = Date.now();
  let timed: RunningDashboard;
  const at = async (method: string, path: string, cred: Credential, body?: unknown) => {
    const h: Record<string, string> = {};
    if (cred && 'token' in cred) h.authorization = `Bearer ${cred.token}`;
    if (cred && 'cookie' in cred) h.cookie = cred.cookie;
    if (cred && 'basic' in cred) h.authorization = basic('admin', PASSWORD);
    if (body !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(`${timed.url}${path}`, {
      method,
      headers: h,
      redirect: 'manual',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      cookie: res.headers.get('set-cookie'),
      text,
      json: res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as unknown) : undefined,
    };
  };
  /** A portal link made by the timed dashboard (at the test's clock): its path. */
  const linkPath = async () => {
    const link = await at('POST', '/api/tenants/acme/portal-links', { basic: true }, {});
    return new URL((link.json as { url: string }).url).pathname;
  };
  beforeAll(async () => {
    // A second dashboard on the same Redis, with a clock the test moves.
    timed = await startDashboard({ ...s.t.ctx, now: () => clock }, { logCredentials: false });
  });
  afterAll(async () => {
    await timed?.stop();
  });

  it('a revoked token stops on its next request, in this process and in another', async () => {
    const { token, id } = await s.token('acme');
    expect((await s.call('GET', '/api/tenants/acme/endpoints', { token })).status).toBe(200);
    expect((await at('GET', '/api/tenants/acme/endpoints', { token })).status).toBe(200);
    expect((await s.call('DELETE', `/api/tenants/acme/tokens/${id}`, { basic: true })).status).toBe(204);
    expect((await s.call('GET', '/api/tenants/acme/endpoints', { token })).status).toBe(401);
    expect((await at('GET', '/api/tenants/acme/endpoints', { token })).status).toBe(401);
    const list = await s.call('GET', '/api/tenants/acme/tokens', { basic: true });
    expect(JSON.stringify(list.json)).not.toContain(id);
  });

  it('a token stops at its expiry', async () => {
    clock = Date.now();
    const made = await at('POST', '/api/tenants/acme/tokens', { basic: true }, { expiresIn: '90m' });
    const { token } = made.json as { token: string };
    clock += 89 * 60_000;
    expect((await at('GET', '/api/tenants/acme/endpoints', { token })).status).toBe(200);
    clock += 60_000;
    expect((await at('GET', '/api/tenants/acme/endpoints', { token })).status).toBe(401);
  });

  it('a session ends after WSS_PORTAL_SESSION_IDLE without a request, and at WSS_PORTAL_SESSION_MAX however active', async () => {
    const { sessionIdleMs: idle, sessionMaxMs: max } = s.t.config.dashboard.portal;
    const open = async () => {
      const res = await at('GET', await linkPath(), undefined);
      expect(res.status).toBe(200);
      return res.cookie!.split(';')[0]!;
    };
    clock = Date.now();
    const idleCookie = await open();
    clock += idle - 1_000;
    expect((await at('GET', '/portal', { cookie: idleCookie })).status).toBe(200);
    clock += idle - 1_000; // active a moment ago: still on
    expect((await at('GET', '/portal', { cookie: idleCookie })).status).toBe(200);
    clock += idle;
    const ended = await at('GET', '/portal', { cookie: idleCookie });
    expect(ended.status).toBe(401);
    expect(ended.text).toContain('Your session has ended');
    expect(ended.cookie).toMatch(/Max-Age=0/);
    clock += 1;
    expect((await at('GET', '/portal', { cookie: idleCookie })).status).toBe(401);

    clock = Date.now();
    const busy = await open();
    const started = clock;
    while (clock + idle / 2 < started + max) {
      clock += idle / 2;
      expect((await at('GET', '/portal', { cookie: busy })).status).toBe(200);
    }
    clock = started + max;
    expect((await at('GET', '/portal', { cookie: busy })).status).toBe(401);
  });

  it('a portal link opens once, and not after WSS_PORTAL_LINK_TTL', async () => {
    clock = Date.now();
    const path = await linkPath();
    expect((await at('GET', path, undefined)).status).toBe(200);
    const again = await at('GET', path, undefined);
    expect(again.status).toBe(404);
    expect(again.cookie).toBeNull();

    const late = await linkPath();
    clock += s.t.config.dashboard.portal.linkTtlMs - 1;
    const stillOpen = await linkPath();
    expect((await at('GET', stillOpen, undefined)).status).toBe(200);
    clock += 1;
    const expired = await at('GET', late, undefined);
    expect(expired.status).toBe(404);
    expect(expired.cookie).toBeNull();
  });
});
