// The admin API over real Redis and HTTP: endpoint CRUD, validation naming the field, 404s,
// write-only secrets, test deliveries through the real worker, and events onto the stream.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { type DeliveryJobData, type DeliveryQueue } from '../src/queue/job.js';
import { createDeliveryQueue } from './helpers/legacy-queue.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { basic, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const { redis } = useTestRedis();

const PASSWORD = 'admin-api-test-password';
const SECRET = 'acme-orders-secret-0123456789';
const SECRET2 = 'rotated-secret-abcdefghijklmnop';
const TOKEN = 'Bearer receiver-token-zyx987';

let t: TestContext;
let dash: RunningDashboard;
let worker: RunningRole;
let receiver: Receiver;
let queue: DeliveryQueue;
const responses: string[] = [];

// The fields the assertions read; anything else is compared as a whole.
interface ApiBody {
  error: string;
  problems: string[];
  tenants: unknown[];
  eventId: string;
  jobId: string;
  entryId: string;
  [field: string]: unknown;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  raw?: string,
): Promise<{ status: number; json: ApiBody }> {
  const res = await fetch(dash.url + path, {
    method,
    headers: {
      authorization: basic('admin', PASSWORD),
      ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  responses.push(text);
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as ApiBody };
}

const EP = '/api/tenants/acme/endpoints/orders';

beforeAll(async () => {
  t = await startTestContext({ WSS_DASHBOARD_PASSWORD: PASSWORD }, redis());
  dash = await startDashboard(t.ctx);
  queue = createDeliveryQueue(t.ctx.redis, t.ctx.config.prefix);
  receiver = await startReceiver();
});

afterAll(async () => {
  await dash?.stop();
  await worker?.stop();
  await queue?.close();
  await receiver?.close();
  await t?.close();
  // Checked last, over every response the file received.
  const all = responses.join('\n') + t.logs.join('');
  if (all.includes(SECRET) || all.includes(SECRET2) || all.includes('receiver-token-zyx987'))
    throw new Error('a secret appeared in a response or log line');
});

describe('endpoints', () => {
  it('starts empty; unknown ids are 404', async () => {
    expect(await call('GET', '/api/tenants')).toEqual({ status: 200, json: { tenants: [] } });
    expect((await call('GET', EP)).status).toBe(404);
    expect((await call('DELETE', EP)).status).toBe(404);
    expect((await call('POST', `${EP}/test`)).status).toBe(404);
  });

  it('PUT creates (201) with the secret write-only, then GET shows it', async () => {
    const res = await call('PUT', EP, {
      url: `${receiver.url}/hook`,
      secret: SECRET,
      events: ['order.*'],
      headers: { Authorization: TOKEN, 'X-Source': 'bus' },
      retry: { attempts: 2, backoffMs: 50 },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      id: 'orders',
      url: `${receiver.url}/hook`,
      secretSet: true,
      enabled: true,
      events: ['order.*'],
      headers: { Authorization: '[hidden]', 'X-Source': 'bus' },
      retry: { attempts: 2, backoffMs: 50 },
    });
    expect(res.json).not.toHaveProperty('secret');
    expect((await t.ctx.registry.getEndpointConfig('acme', 'orders'))?.secret).toBe(SECRET);
    expect((await t.ctx.registry.getEndpointConfig('acme', 'orders'))?.headers.Authorization).toBe(TOKEN);
    const got = await call('GET', EP);
    expect(got.json).toEqual(res.json);
    const list = await call('GET', '/api/tenants');
    expect(list.json.tenants).toEqual([{ id: 'acme', endpoints: [res.json] }]);
  });

  it('PUT without a secret updates (200) and keeps the stored secret; the registry sees it', async () => {
    const res = await call('PUT', EP, {
      id: 'orders',
      url: `${receiver.url}/hook`,
      events: ['order.*'],
      enabled: false,
      retry: { attempts: 2, backoffMs: 50 },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ enabled: false, secretSet: true });
    const stored = await t.ctx.registry.getEndpointConfig('acme', 'orders');
    expect(stored?.secret).toBe(SECRET);
    expect(stored?.enabled).toBe(false);
    expect(stored?.headers).toEqual({});
    expect(t.ctx.registry.endpoint('acme', 'orders')?.config.enabled).toBe(false);
  });

  it('PUT with a new secret or a secretEnv replaces the old one', async () => {
    expect(
      (await call('PUT', EP, { url: `${receiver.url}/hook`, secretEnv: 'WSS_SECRET_ACME_ORDERS' })).json,
    ).toMatchObject({ secretSet: true, secretEnv: 'WSS_SECRET_ACME_ORDERS' });
    let stored = await t.ctx.registry.getEndpointConfig('acme', 'orders');
    expect(stored?.secret).toBeUndefined();
    expect(stored?.secretEnv).toBe('WSS_SECRET_ACME_ORDERS');
    expect(
      (await call('PUT', EP, { url: `${receiver.url}/hook`, secret: SECRET2, retry: { attempts: 2, backoffMs: 50 } }))
        .status,
    ).toBe(200);
    stored = await t.ctx.registry.getEndpointConfig('acme', 'orders');
    expect(stored).toMatchObject({ secret: SECRET2, enabled: true });
    expect(stored?.secretEnv).toBeUndefined();
  });

  it.each([
    [{ url: 'ftp://x.example/', secret: SECRET }, 'field "url"'],
    [{ url: 'http://x.example/', secret: SECRET, retry: { attempts: 0 } }, 'field "retry.attempts"'],
    [{ url: 'http://x.example/', secret: 'short' }, 'field "secret"'],
    [{ url: 'http://x.example/', secret: SECRET, filter: 'data.(' }, 'field "filter"'],
    [
      { url: 'http://x.example/', secret: SECRET, headers: { 'X-WSS-Signature': 'x' } },
      'field "headers.X-WSS-Signature"',
    ],
    [{ url: 'http://x.example/', secret: SECRET, colour: 'red' }, 'colour'],
    [{ id: 'other', url: 'http://x.example/', secret: SECRET }, 'field "id"'],
  ])('PUT %j is refused with 400 naming %s, and nothing is written', async (body, field) => {
    const before = await t.ctx.registry.getEndpointConfig('acme', 'orders');
    const res = await call('PUT', EP, body);
    expect(res.status).toBe(400);
    expect(res.json.problems.join(' ')).toContain(field);
    expect(res.json.error).toContain(field);
    expect(await t.ctx.registry.getEndpointConfig('acme', 'orders')).toEqual(before);
  });

  it('refuses creating an endpoint without a secret, bad ids and bad JSON', async () => {
    const res = await call('PUT', '/api/tenants/acme/endpoints/new-one', { url: 'http://x.example/' });
    expect(res.status).toBe(400);
    expect(res.json.problems.join(' ')).toContain('field "secret"');
    expect(await t.ctx.registry.getEndpointConfig('acme', 'new-one')).toBeUndefined();
    const badTenant = await call('PUT', '/api/tenants/Bad%20Tenant/endpoints/x', {
      url: 'http://x.example/',
      secret: SECRET,
    });
    expect(badTenant.status).toBe(400);
    expect(badTenant.json.error).toContain('tenant id');
    const badJson = await call('PUT', EP, undefined, '{"url": ');
    expect(badJson.status).toBe(400);
    expect(badJson.json.error).toMatch(/not valid JSON/);
    expect((await call('PUT', EP, undefined, '[1,2]')).status).toBe(400);
  });

  it('POST .../test sends a signed wss.test event through the worker', async () => {
    worker = await startWorker(t.ctx);
    const res = await call('POST', `${EP}/test`);
    expect(res.status).toBe(202);
    expect(res.json.eventId).toMatch(/^test-[0-9a-f-]{36}$/);
    const [got] = await receiver.waitFor(1);
    expect(got!.headers['x-wss-event-type']).toBe('wss.test');
    expect(got!.headers['x-wss-event-id']).toBe(res.json.eventId);
    expect(JSON.parse(got!.body)).toMatchObject({
      id: res.json.eventId,
      type: 'wss.test',
      tenant: 'acme',
      data: { endpoint: 'orders' },
    });
    const ts = String(got!.headers['x-wss-timestamp']);
    const expected = execFileSync('openssl', ['dgst', '-sha256', '-hmac', SECRET2, '-hex', '-r'], {
      input: ts + got!.body,
    })
      .toString()
      .split(' ')[0];
    expect(got!.headers['x-wss-signature']).toBe(expected);
    const job = await queue.getJob(res.json.jobId);
    expect(job?.data as DeliveryJobData).toMatchObject({
      tenant: 'acme',
      endpoint: 'orders',
      type: 'wss.test',
      eventId: res.json.eventId,
    });
    // Each test is its own event: a second one is a second delivery.
    const again = await call('POST', `${EP}/test`);
    expect(again.json.eventId).not.toBe(res.json.eventId);
    await receiver.waitFor(2);
  });

  it('POST .../test on a disabled endpoint is 409', async () => {
    await call('PUT', EP, { url: `${receiver.url}/hook`, enabled: false });
    expect((await call('POST', `${EP}/test`)).status).toBe(409);
  });

  it('DELETE removes (204), then 404', async () => {
    expect((await call('DELETE', EP)).status).toBe(204);
    expect((await call('GET', EP)).status).toBe(404);
    expect(t.ctx.registry.endpoint('acme', 'orders')).toBeUndefined();
    expect((await call('DELETE', EP)).status).toBe(404);
  });
});

describe('POST /api/events', () => {
  it('publishes to the stream (202 with the entry id)', async () => {
    const res = await call('POST', '/api/events', {
      tenant: 'acme',
      type: 'order.created',
      data: { orderId: 'o-1' },
      id: 'evt_api_1',
    });
    expect(res.status).toBe(202);
    expect(res.json.entryId).toMatch(/^\d+-\d+$/);
    const entries = await t.ctx.redis.xrange(t.ctx.config.stream, res.json.entryId, res.json.entryId);
    expect(entries).toEqual([
      [res.json.entryId, ['tenant', 'acme', 'type', 'order.created', 'data', '{"orderId":"o-1"}', 'id', 'evt_api_1']],
    ]);
  });

  it.each([
    [{ type: 'a', data: {} }, 'field "tenant"'],
    [{ tenant: 'acme', data: {} }, 'field "type"'],
    [{ tenant: 'acme', type: 'a' }, 'field "data"'],
    [{ tenant: 'acme', type: 'bad type!', data: {} }, 'field "type"'],
    [{ tenant: 'acme', type: 'a', data: {}, id: 'has:colon' }, 'field "id"'],
    [{ tenant: 'acme', type: 'a', data: {}, extra: 1 }, 'field "extra"'],
    [{ tenant: 'acme', type: 'a', data: {}, priority: 'urgent' }, 'field "priority"'],
    [{ tenant: 'acme', type: 'a', data: {}, priority: 1 }, 'field "priority"'],
  ])('%j is refused with 400 naming %s', async (body, field) => {
    const len = await t.ctx.redis.xlen(t.ctx.config.stream);
    const res = await call('POST', '/api/events', body);
    expect(res.status).toBe(400);
    expect(res.json.error).toContain(field);
    expect(await t.ctx.redis.xlen(t.ctx.config.stream)).toBe(len);
  });

  it('takes a priority and writes it to the entry', async () => {
    const res = await call('POST', '/api/events', { tenant: 'acme', type: 'order.created', data: 1, priority: 'high' });
    expect(res.status).toBe(202);
    const entries = await t.ctx.redis.xrange(t.ctx.config.stream, res.json.entryId, res.json.entryId);
    expect(entries).toEqual([
      [res.json.entryId, ['tenant', 'acme', 'type', 'order.created', 'data', '1', 'priority', 'high']],
    ]);
  });

  it('an unknown tenant is 404 naming it, and nothing is written; ?check=false publishes anyway', async () => {
    const len = await t.ctx.redis.xlen(t.ctx.config.stream);
    const refused = await call('POST', '/api/events', { tenant: 'nobody', type: 'a', data: 1 });
    expect(refused.status).toBe(404);
    expect(refused.json.error).toContain('tenant "nobody" not found');
    expect(refused.json.error).toContain('?check=false');
    expect(await t.ctx.redis.xlen(t.ctx.config.stream)).toBe(len);
    const early = await call('POST', '/api/events?check=false', { tenant: 'nobody', type: 'a', data: 1 });
    expect(early.status).toBe(202);
    const entries = await t.ctx.redis.xrange(t.ctx.config.stream, early.json.entryId, early.json.entryId);
    expect(entries).toEqual([[early.json.entryId, ['tenant', 'nobody', 'type', 'a', 'data', '1']]]);
    const bad = await call('POST', '/api/events?check=maybe', { tenant: 'acme', type: 'a', data: 1 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('query parameter "check"');
  });
});
