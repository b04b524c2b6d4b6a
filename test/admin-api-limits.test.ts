// The admin API with the registration rules on (WSS_ALLOW_PRIVATE_URLS=false) and a small
// WSS_MAX_EVENT_BYTES: refusals are 400 naming the field (413 for an oversize event) and
// nothing is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { basic, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';

const { redis } = useTestRedis();

const PASSWORD = 'admin-limits-test-password';
const SECRET = 'acme-orders-secret-0123456789';
let t: TestContext;
let dash: RunningDashboard;

async function call(
  method: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: { error: string; problems: string[]; entryId?: string } }> {
  const res = await fetch(dash.url + path, {
    method,
    headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { error: string; problems: string[]; entryId?: string } };
}

beforeAll(async () => {
  t = await startTestContext(
    { WSS_DASHBOARD_PASSWORD: PASSWORD, WSS_ALLOW_PRIVATE_URLS: 'false', WSS_MAX_EVENT_BYTES: '1024' },
    redis(),
  );
  dash = await startDashboard(t.ctx);
});
afterAll(async () => {
  await dash?.stop();
  await t?.close();
});

const EP = '/api/tenants/acme/endpoints/orders';

describe('admin API: registration rules', () => {
  it.each([
    [{ url: 'http://127.0.0.1:4000/hook', secret: SECRET }, 'field "url": is a private address (loopback)'],
    [{ url: 'http://localhost/hook', secret: SECRET }, 'field "url": points at localhost'],
    [{ url: 'http://[fd00::1]/hook', secret: SECRET }, 'field "url": is a private address (unique-local)'],
    [
      { url: 'https://hooks.example/', secretEnv: 'WSS_DASHBOARD_PASSWORD' },
      'field "secretEnv": must be an environment variable name starting with WSS_SECRET_',
    ],
    [
      { url: 'https://hooks.example/', secret: SECRET, headers: { 'X-Note': 'a\r\nX-Evil: 1' } },
      'field "headers.X-Note": value',
    ],
    [
      { url: 'https://hooks.example/', secret: SECRET, headers: { 'Proxy-Authorization': 'x' } },
      'field "headers.Proxy-Authorization"',
    ],
    [
      { url: 'https://hooks.example/', secret: SECRET, headers: { 'X-A': '1', 'x-a': '2' } },
      'field "headers.x-a": duplicates',
    ],
  ])('PUT %j is refused with 400 naming %s, and nothing is written', async (body, expected) => {
    const res = await call('PUT', EP, body);
    expect(res.status).toBe(400);
    expect(res.json.problems.join('\n')).toContain(expected);
    expect(await t.ctx.registry.getEndpointConfig('acme', 'orders')).toBeUndefined();
  });

  it('a public URL and a WSS_SECRET_ name are registered', async () => {
    expect(
      (await call('PUT', EP, { url: 'https://hooks.example/orders', secretEnv: 'WSS_SECRET_ACME_ORDERS' })).status,
    ).toBe(201);
    // A later PUT that moves it to a private address is refused; the stored one stays.
    expect((await call('PUT', EP, { url: 'http://192.168.1.10/orders' })).status).toBe(400);
    expect((await t.ctx.registry.getEndpointConfig('acme', 'orders'))?.url).toBe('https://hooks.example/orders');
  });
});

describe('admin API: POST /api/events size limit', () => {
  it('refuses data over WSS_MAX_EVENT_BYTES with 413 naming the field, and accepts the limit itself', async () => {
    const over = await call('POST', '/api/events', { tenant: 'acme', type: 'order.created', data: 'x'.repeat(1_023) });
    expect(over.status).toBe(413);
    expect(over.json.error).toBe('event rejected: field "data" is 1025 bytes, more than WSS_MAX_EVENT_BYTES (1024)');
    expect(await t.ctx.redis.exists(t.ctx.config.stream)).toBe(0);
    const at = await call('POST', '/api/events', { tenant: 'acme', type: 'order.created', data: 'x'.repeat(1_022) });
    expect(at.status).toBe(202);
    expect(await t.ctx.redis.xlen(t.ctx.config.stream)).toBe(1);
  });
});
