// Bulk recover over real Redis, a real worker and real receivers: every delivery of the endpoint
// that failed since T arrives once more, re-signed, with its original body and event id; a dry
// run counts without queuing; a second recover adds nothing; bad input is a 400 naming the field.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import type { DeliveryQueue } from '../src/queue/job.js';
import { createDeliveryQueue } from './helpers/legacy-queue.js';
import { startBridge } from '../src/producers/bridge.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { sleep, waitUntil } from './helpers/context.js';
import { basic, orderEndpoint, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';
import { startReceiver, type Receiver, type Received } from './helpers/receiver.js';
import { runWss } from './helpers/wss-process.js';

const { redis } = useTestRedis();
const PASSWORD = 'recover-test-password';
const SECRET = 'recover-orders-secret-0123456789';

let t: TestContext;
let dash: RunningDashboard;
let queue: DeliveryQueue;
let orders: Receiver;
let billing: Receiver;
const roles: RunningRole[] = [];

function openssl(secret: string, message: string): string {
  return execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret, '-hex', '-r'], { input: message })
    .toString()
    .split(' ')[0]!;
}

async function call(path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(dash.url + path, {
    method: 'POST',
    headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const RECOVER = '/api/tenants/acme/endpoints/orders/recover';

async function publish(id: string): Promise<void> {
  await t.ctx.redis.xadd(
    t.config.stream,
    '*',
    'tenant',
    'acme',
    'type',
    'order.paid',
    'id',
    id,
    'data',
    `{"order":"${id}"}`,
  );
}

async function failedIds(): Promise<string[]> {
  return (await queue.getFailed()).map((j) => j.id!).sort();
}

const eventIdsOf = (reqs: Received[]) => reqs.map((r) => String(r.headers['x-wss-event-id']));

beforeAll(async () => {
  // 4xx: given up at once and not counted by the circuit breaker (5 retryable failures in a row
  // would hold the endpoint's deliveries back for a cool-down instead of failing them).
  orders = await startReceiver(() => ({ status: 422, body: 'rejected' }));
  billing = await startReceiver(() => ({ status: 404, body: 'no such hook' }));
  t = await startTestContext({ WSS_DASHBOARD_PASSWORD: PASSWORD, WSS_BLOCK_MS: '100' }, redis());
  const ep = (id: string, url: string) => orderEndpoint(id, url, SECRET);
  await t.ctx.registry.putEndpoint('acme', ep('orders', `${orders.url}/orders`));
  await t.ctx.registry.putEndpoint('acme', ep('billing', `${billing.url}/billing`));
  roles.push(await startWorker(t.ctx), await startBridge(t.ctx));
  dash = await startDashboard(t.ctx);
  queue = createDeliveryQueue(t.ctx.redis, t.config.prefix);
  queue.on('error', () => {});
});

afterAll(async () => {
  await dash?.stop();
  for (const r of roles.reverse()) await r.stop();
  await queue?.close();
  await orders?.close();
  await billing?.close();
  await t?.close();
});

describe('recover', () => {
  let since: string;
  const later = ['e2', 'e3', 'e4', 'e5', 'e6'];

  it('puts back every failed delivery since T once, re-signed, with its body and event id', async () => {
    await publish('e1');
    await waitUntil('e1 failed on both endpoints', async () => (await failedIds()).length === 2);
    await sleep(20);
    since = new Date().toISOString();
    await sleep(20);
    for (const id of later) await publish(id);
    await waitUntil('all failed', async () => (await failedIds()).length === 12, 20_000);
    const firstBodies = new Map(orders.requests.map((r) => [String(r.headers['x-wss-event-id']), r.body]));
    const before = orders.requests.length;
    expect(before).toBe(6); // one attempt each: a 422 is not retried

    const dry = await call(RECOVER, { since, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ failed: 5, recovered: 0, dryRun: true, since });
    expect((dry.json.jobIds as string[]).sort()).toEqual(later.map((e) => `acme.orders.${e}`));
    await sleep(300);
    expect(orders.requests.length).toBe(before); // a dry run queues nothing
    expect(await failedIds()).toHaveLength(12);

    orders.setHandler(() => ({ status: 200, body: 'ok' }));
    const flowTag = async () => Number(await t.ctx.redis.hget(`${t.config.prefix}:fair:flows`, 'acme/orders'));
    const tagBefore = await flowTag();
    const run = await call(RECOVER, { since });
    // Each recovered job was charged to its flow (fair share), as a worker's retry is.
    expect((await flowTag()) - tagBefore).toBeGreaterThanOrEqual(5);
    expect(run.json).toMatchObject({ failed: 5, recovered: 5, skipped: 0, dryRun: false });
    const all = await orders.waitFor(before + 5);
    await sleep(300);
    const resent = orders.requests.slice(before);
    expect(resent).toHaveLength(5); // each once
    expect(eventIdsOf(resent).sort()).toEqual(later);
    for (const r of resent) {
      const id = String(r.headers['x-wss-event-id']);
      expect(r.body).toBe(firstBodies.get(id));
      const ts = String(r.headers['x-wss-timestamp']);
      expect(r.headers['x-wss-signature']).toBe(openssl(SECRET, ts + r.body));
      expect(r.headers['x-wss-replay']).toBeUndefined();
    }
    expect(all.length).toBe(before + 5);
    // e1 failed before T and stays failed; billing's deliveries were not touched.
    expect(await failedIds()).toEqual(
      ['acme.billing.e1', ...later.map((e) => `acme.billing.${e}`), 'acme.orders.e1'].sort(),
    );
    await waitUntil('recovered jobs completed', async () => (await queue.getCompletedCount()) === 5);
  });

  it('a second recover adds nothing', async () => {
    const before = orders.requests.length;
    const again = await call(RECOVER, { since });
    expect(again.json).toMatchObject({ failed: 0, recovered: 0 });
    await sleep(300);
    expect(orders.requests.length).toBe(before);
  });

  it('refuses bad input naming the field, and queues nothing', async () => {
    const before = await failedIds();
    const cases: Array<[unknown, RegExp]> = [
      [{}, /field "since": required/],
      [{ since: 'yesterday' }, /field "since": must be an ISO 8601 time/],
      [{ since: '2999-01-01T00:00:00Z' }, /field "since": .* is in the future/],
      [{ since: '1h', dryRun: 'yes' }, /field "dryRun": must be true or false/],
      [{ since: '1h', limit: 3 }, /field "limit": unknown field/],
      [{ eventId: 'has:colon' }, /field "eventId"/],
    ];
    for (const [body, re] of cases) {
      const r = await call(RECOVER, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(String(r.json.error)).toMatch(re);
    }
    expect((await call('/api/tenants/acme/endpoints/nope/recover', { since: '1h' })).status).toBe(404);
    expect((await call('/api/tenants/Bad!/endpoints/orders/recover', { since: '1h' })).status).toBe(400);
    const notJson = await fetch(dash.url + RECOVER, {
      method: 'POST',
      headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
      body: '[1]',
    });
    expect(notJson.status).toBe(400);
    expect(await failedIds()).toEqual(before);
  });

  it('eventId narrows the recover to one event', async () => {
    const one = await call('/api/tenants/acme/endpoints/billing/recover', { eventId: 'e3', dryRun: true });
    expect(one.json).toMatchObject({ failed: 1, jobIds: ['acme.billing.e3'] });
  });

  it('wss recover: a dry run counts, then the failed delivery since 1h goes out again', () => {
    const env = { REDIS_URL: redis().url, WSS_PREFIX: t.config.prefix, WSS_STREAM: t.config.stream };
    const dry = runWss(
      ['recover', '--tenant', 'acme', '--endpoint', 'orders', '--since', '1h', '--dry-run', '--json'],
      env,
    );
    expect(dry.status, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ failed: 1, recovered: 0, jobIds: ['acme.orders.e1'] });
    const run = runWss(['recover', '--tenant', 'acme', '--endpoint', 'orders', '--since', '1h'], env);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^recovered 1 of 1 failed deliveries of acme\/orders since /);
    const bad = runWss(['recover', '--tenant', 'acme', '--endpoint', 'orders', '--since', 'soon'], env);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--since: must be an ISO 8601 time/);
  });

  it('the CLI-recovered delivery arrives', async () => {
    await waitUntil('e1 resent', () => eventIdsOf(orders.requests).filter((id) => id === 'e1').length === 2);
    await sleep(200);
    expect(eventIdsOf(orders.requests).filter((id) => id === 'e1')).toHaveLength(2); // failed once, recovered once
  });
});
