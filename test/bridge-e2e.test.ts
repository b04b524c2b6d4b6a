// End to end: XADD → bridge → delivery worker → a real HTTP receiver, signature checked with
// openssl, body byte-for-byte.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
import { publishEvent } from '../src/queue/publish.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { startReceiver, type Received, type Receiver } from './helpers/receiver.js';
import { endpoint, isolatedEnv, waitUntil, type TestCtx, useBridgeTest } from './helpers/bridge-context.js';

const { cleanups, context } = useBridgeTest();

function opensslHmac(secret: string, message: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret], { input: message }).toString();
  return out.trim().split('= ').pop()!;
}

function expectSigned(req: Received, secret: string): void {
  const ts = String(req.headers['x-wss-timestamp']);
  expect(ts).toMatch(/^\d+$/);
  expect(req.headers['x-wss-signature']).toBe(opensslHmac(secret, ts + req.body));
}

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}

async function service(tenants: unknown): Promise<TestCtx> {
  const t = await context(isolatedEnv(), tenants);
  const roles: RunningRole[] = [await startWorker(t.ctx), await startBridge(t.ctx)];
  cleanups.push(async () => {
    for (const r of roles.reverse()) await r.stop();
  });
  return t;
}

describe('stream to receiver', () => {
  it('delivers an XADDed event, signed, with the exact envelope and transformed bodies', async () => {
    const rx = await receiver();
    const t = await service({
      tenants: [
        {
          id: 'acme',
          endpoints: [
            endpoint('orders', { url: `${rx.url}/orders`, secret: 'acme-orders-secret-123', events: ['order.*'] }),
            endpoint('slim', {
              url: `${rx.url}/slim`,
              secret: 'acme-slim-secret-4567',
              transform: "{ 'orderId': data.orderId }",
            }),
          ],
        },
      ],
    });
    const data = '{"orderId":"o-1", "status":"shipped"}';
    const entryId = (await t.ctx.redis.xadd(
      t.config.stream,
      '*',
      'tenant',
      'acme',
      'type',
      'order.updated',
      'data',
      data,
      'id',
      'evt_1',
    )) as string;
    await rx.waitFor(2);
    const byPath = new Map(rx.requests.map((r) => [r.path, r]));
    const iso = new Date(Number(entryId.split('-')[0])).toISOString();

    const orders = byPath.get('/orders')!;
    expect(orders.body).toBe(
      `{"id":"evt_1","type":"order.updated","tenant":"acme","createdAt":"${iso}","data":${data}}`,
    );
    expect(orders.headers['content-type']).toBe('application/json');
    expect(orders.headers['x-wss-event-id']).toBe('evt_1');
    expect(orders.headers['x-wss-event-type']).toBe('order.updated');
    expect(orders.headers['x-wss-attempt']).toBe('1');
    expectSigned(orders, 'acme-orders-secret-123');

    const slim = byPath.get('/slim')!;
    expect(slim.body).toBe('{"orderId":"o-1"}');
    expectSigned(slim, 'acme-slim-secret-4567');
    expect(rx.requests).toHaveLength(2);
  });

  it("never shows one tenant's events to another", async () => {
    const rxAcme = await receiver();
    const rxGlobex = await receiver();
    const t = await service({
      tenants: [
        { id: 'acme', endpoints: [endpoint('hook', { url: `${rxAcme.url}/hook`, secret: 'acme-secret-0123456' })] },
        { id: 'globex', endpoints: [endpoint('hook', { url: `${rxGlobex.url}/hook`, secret: 'globex-secret-01234' })] },
      ],
    });
    for (let i = 0; i < 3; i++) {
      await publishEvent(t.ctx.redis, t.config.stream, {
        tenant: 'acme',
        type: 'thing.done',
        data: { owner: 'acme', i },
        id: `a${i}`,
      });
      await publishEvent(t.ctx.redis, t.config.stream, {
        tenant: 'globex',
        type: 'thing.done',
        data: { owner: 'globex', i },
        id: `g${i}`,
      });
    }
    await rxAcme.waitFor(3);
    await rxGlobex.waitFor(3);
    await waitUntil('queue drained', async () => (await t.queue.getJobCounts('completed')).completed === 6);
    for (const [rx, tenant, secret] of [
      [rxAcme, 'acme', 'acme-secret-0123456'],
      [rxGlobex, 'globex', 'globex-secret-01234'],
    ] as const) {
      expect(rx.requests).toHaveLength(3);
      for (const req of rx.requests) {
        const body = JSON.parse(req.body) as { tenant: string; data: { owner: string } };
        expect(body.tenant).toBe(tenant);
        expect(body.data.owner).toBe(tenant);
        expectSigned(req, secret);
      }
    }
  });

  it('job ids cannot collide across tenants: both events of a once-colliding pair are delivered', async () => {
    // Under the old `<eventId>_<tenant>_<endpoint>` both of these were `order-1001_acme_shop_orders`
    // and the second was silently dropped as a duplicate.
    const rx = await receiver();
    const t = await service({
      tenants: [
        {
          id: 'shop',
          endpoints: [endpoint('orders', { url: `${rx.url}/shop/orders`, secret: 'shop-orders-secret-01' })],
        },
        {
          id: 'acme',
          endpoints: [endpoint('shop_orders', { url: `${rx.url}/acme/shop_orders`, secret: 'acme-shop-secret-0123' })],
        },
      ],
    });
    await publishEvent(t.ctx.redis, t.config.stream, {
      tenant: 'shop',
      type: 'order.created',
      data: { n: 1 },
      id: 'order-1001_acme',
    });
    await publishEvent(t.ctx.redis, t.config.stream, {
      tenant: 'acme',
      type: 'order.created',
      data: { n: 2 },
      id: 'order-1001',
    });
    await rx.waitFor(2);
    const got = rx.requests.map((r) => `${r.path} ${String(r.headers['x-wss-event-id'])}`).sort();
    expect(got).toEqual(['/acme/shop_orders order-1001', '/shop/orders order-1001_acme']);
    await waitUntil('both jobs completed', async () => (await t.queue.getJobCounts('completed')).completed === 2);
  });
});
