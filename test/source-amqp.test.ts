// The AMQP source against the machine's RabbitMQ (a private vhost and user per file): events
// published to a quorum queue reach a real receiver signed; the event id and creation time come
// from the envelope and the AMQP properties; bodies that are not envelopes are dead-lettered
// with their reason and reference, then acknowledged; two bridges share one queue; an existing
// classic queue works with a warning; the password never shows.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../src/producers/bridge.js';
import { createPublisher } from '../src/producers/sources/index.js';
import { publishTo } from '../src/queue/publish.js';
import type { RunningRole } from '../src/roles.js';
import { verifySignature } from '../src/verify/index.js';
import { startWorker } from '../src/workers/worker.js';
import { publishRaw, queueCounts, useAmqpVhost } from './helpers/amqp.js';
import {
  allJobIds,
  deadLetters,
  endpoint,
  isolatedEnv,
  waitUntil,
  useBridgeTest,
  type TestCtx,
} from './helpers/bridge-context.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { runWss } from './helpers/wss-process.js';

const { redis, cleanups, context } = useBridgeTest();
const broker = useAmqpVhost();
let queues = 0;

const SECRET = 'acme-orders-secret-123';

function amqpEnv(extra: Record<string, string> = {}): Record<string, string> {
  return isolatedEnv({
    WSS_SOURCE: 'amqp',
    WSS_AMQP_URL: broker.amqp().url,
    WSS_AMQP_QUEUE: `q${++queues}.events`,
    ...extra,
  });
}

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}

async function running<R extends RunningRole>(role: R): Promise<R> {
  cleanups.push(() => role.stop());
  return role;
}

/** Worker and bridge in this process on `env`, delivering acme's events to `rx`. */
async function service(env: Record<string, string>, rx: Receiver): Promise<{ t: TestCtx; bridge: RunningBridge }> {
  const t = await context(env, {
    tenants: [
      {
        id: 'acme',
        endpoints: [
          endpoint('orders', { url: `${rx.url}/orders`, secret: SECRET, events: ['order.*'] }),
          endpoint('slim', { url: `${rx.url}/slim`, secret: 'acme-slim-secret-4567', transform: "{ 'n': data.n }" }),
        ],
      },
    ],
  });
  await running(await startWorker(t.ctx));
  const bridge = await running(await startBridge(t.ctx));
  return { t, bridge };
}

const verified = (req: { body: string; headers: Record<string, unknown> }, secret: string) =>
  verifySignature({
    secret,
    body: req.body,
    timestamp: String(req.headers['x-wss-timestamp']),
    signature: String(req.headers['x-wss-signature']),
  });

const counts = (env: Record<string, string>) => queueCounts(broker.amqp(), env['WSS_AMQP_QUEUE']!);
const drained = async (env: Record<string, string>) => {
  const c = await counts(env);
  return c.ready === 0 && c.unacked === 0;
};

describe('WSS_SOURCE=amqp: publish → quorum queue → bridge → signed delivery', () => {
  it('delivers what `wss publish` sends and a raw message, signed, with the exact envelope and data bytes', async () => {
    const rx = await receiver();
    const env = amqpEnv();
    const { t } = await service(env, rx);
    const publisher = createPublisher(t.config, t.ctx.redis);
    cleanups.push(() => publisher.close());
    // The publisher declares the queue as well: a durable quorum queue.
    const ref = await publishTo(publisher, { tenant: 'acme', type: 'order.created', data: { n: 1 }, id: 'evt_1' });
    expect(ref).toBe('evt_1');
    expect((await counts(env)).type).toBe('quorum');
    const noId = await publishTo(publisher, { tenant: 'acme', type: 'order.created', data: { n: 2 } });
    expect(noId).toMatch(/^[0-9a-f-]{36}$/); // the messageId it sent: the event id

    // A producer of its own: 64-bit integers and number formats reach the receiver as written.
    const data = '{"n":3,"big":12345678901234567890,"price":1.50}';
    await publishRaw(await broker.connection(), env['WSS_AMQP_QUEUE']!, [
      {
        body: `{"tenant":"acme","type":"order.updated","data":${data},"id":"evt_raw","priority":"high"}`,
        props: { timestamp: 1_767_225_600 }, // seconds, as AMQP says: 2026-01-01T00:00:00Z
      },
    ]);
    await rx.waitFor(6);
    const orders = rx.requests.filter((r) => r.path === '/orders');
    const raw = orders.find((r) => r.headers['x-wss-event-id'] === 'evt_raw')!;
    expect(raw.body).toBe(
      `{"id":"evt_raw","type":"order.updated","tenant":"acme","createdAt":"2026-01-01T00:00:00.000Z","data":${data}}`,
    );
    expect(orders.map((r) => String(r.headers['x-wss-event-id'])).sort()).toEqual([noId, 'evt_1', 'evt_raw'].sort());
    for (const r of orders) expect(verified(r, SECRET)).toBe(true);
    const first = JSON.parse(orders.find((r) => r.headers['x-wss-event-id'] === 'evt_1')!.body) as {
      createdAt: string;
    };
    // `wss publish` sends the timestamp property in seconds.
    expect(first.createdAt).toMatch(/\.000Z$/);
    expect(Math.abs(Date.parse(first.createdAt) - Date.now())).toBeLessThan(60_000);
    const slim = rx.requests.filter((r) => r.path === '/slim');
    expect(slim.map((r) => r.body).sort()).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    for (const r of slim) expect(verified(r, 'acme-slim-secret-4567')).toBe(true);

    await waitUntil('every message acknowledged', () => drained(env), 20_000);
    // The delivery log works the same: `wss status` tells the event's story.
    const status = runWss(['status', 'evt_raw', '--tenant', 'acme', '--json'], {
      REDIS_URL: redis().url,
      WSS_PREFIX: env['WSS_PREFIX']!,
    });
    expect(status.stderr).toBe('');
    expect(status.stdout).toMatch(/"delivered"/);
    expect(t.logs.join('\n')).not.toContain(broker.amqp().password);
  });

  it('event id: the envelope `id`, else the messageId property, else a hash of the body and timestamp', async () => {
    const rx = await receiver();
    const env = amqpEnv();
    const { t } = await service(env, rx);
    const body = (n: number) => `{"tenant":"acme","type":"order.created","data":{"n":${n}}}`;
    const hash = (ts: string, b: string) =>
      `sha256-${createHash('sha256').update(ts).update('\n').update(b).digest('hex').slice(0, 32)}`;
    const conn = await broker.connection();
    await publishRaw(conn, env['WSS_AMQP_QUEUE']!, [
      { body: `{"tenant":"acme","type":"order.created","data":{"n":1},"id":"own-id"}`, props: { messageId: 'm-1' } },
      { body: body(2), props: { messageId: 'm-2' } },
      { body: body(3), props: { messageId: 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66' } },
      // The same body twice, no id, no timestamp: one event (a producer's retry).
      { body: body(4) },
      { body: body(4) },
      // The same body at two timestamps: two events.
      { body: body(5), props: { timestamp: 1_767_225_600 } },
      { body: body(5), props: { timestamp: 1_767_225_601 } },
    ]);
    await rx.waitFor(6 * 2);
    await waitUntil('every message acknowledged', () => drained(env), 20_000);
    const ids = [...new Set(rx.requests.map((r) => String(r.headers['x-wss-event-id'])))].sort();
    const urnHash = createHash('sha256').update('urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66').digest('hex');
    expect(ids).toEqual(
      [
        'own-id',
        'm-2',
        `msgid-${urnHash.slice(0, 32)}`,
        hash('', body(4)),
        hash('1767225600', body(5)),
        hash('1767225601', body(5)),
      ].sort(),
    );
    expect(rx.requests).toHaveLength(12);
    expect(await allJobIds(t)).toHaveLength(12);
  });

  it('dead-letters bodies that are not envelopes with their reason and queue#tag, and acknowledges them', async () => {
    const rx = await receiver();
    const env = amqpEnv();
    const { t, bridge } = await service(env, rx);
    const queue = env['WSS_AMQP_QUEUE']!;
    await publishRaw(await broker.connection(), queue, [
      { body: 'not json at all' },
      { body: '[1,2,3]' },
      { body: Buffer.from([0xff, 0xfe, 0x00, 0x01]) },
      { body: '{"tenant":5,"type":"order.created","data":{}}' },
      { body: '{"tenant":"acme","type":"order.created"}' },
      { body: '{"tenant":"acme","type":"order.created","data":{"n":9},"id":"fine"}' },
    ]);
    await rx.waitFor(2);
    await waitUntil('five dead letters', async () => (await deadLetters(t)).length === 5);
    await waitUntil('every message acknowledged', () => drained(env), 20_000);
    const dead = (await deadLetters(t)).map((d) => d.fields);
    for (const d of dead) expect(d['entryId']).toMatch(new RegExp(`^${queue.replace('.', '\\.')}#\\d+$`));
    expect(dead.map((d) => d['reason'])).toEqual([
      // V8 gives no position for an unexpected token; the body is never quoted.
      'message body is not JSON',
      'message body is an array in JSON, not an object (the envelope)',
      'message body is not JSON',
      'field "tenant" must be a string, not a number',
      'missing field "data"',
    ]);
    expect(dead[0]!['body']).toBe('not json at all');
    expect(dead[2]!['bodyBase64']).toBe(Buffer.from([0xff, 0xfe, 0x00, 0x01]).toString('base64'));
    expect(dead[4]).toMatchObject({ tenant: 'acme', type: 'order.created' });
    expect(bridge.stats().deadLetters).toBe(5);
    expect(rx.requests.map((r) => r.headers['x-wss-event-id'])).toEqual(['fine', 'fine']);
  });

  it('two bridges on one queue share the work; every event becomes exactly one job', async () => {
    const rx = await receiver();
    const env = amqpEnv({ WSS_BATCH_SIZE: '10' });
    const { t, bridge: one } = await service({ ...env, WSS_CONSUMER: 'one' }, rx);
    const t2 = await context({ ...env, WSS_CONSUMER: 'two' });
    const two = await running(await startBridge(t2.ctx));
    await waitUntil('both bridges consuming', async () => (await one.ready()).ok && (await two.ready()).ok);
    const n = 300;
    const publisher = createPublisher(t.config, t.ctx.redis);
    cleanups.push(() => publisher.close());
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        publishTo(publisher, { tenant: 'acme', type: 'order.created', data: { n: i }, id: `e${i}` }),
      ),
    );
    await waitUntil('every event handled', () => one.stats().entries + two.stats().entries >= n, 30_000);
    expect(one.stats().entries).toBeGreaterThan(0);
    expect(two.stats().entries).toBeGreaterThan(0);
    expect(one.stats().entries + two.stats().entries).toBe(n);
    const jobs = await allJobIds(t);
    expect(jobs).toHaveLength(2 * n);
    expect(new Set(jobs).size).toBe(2 * n);
    await waitUntil('every message acknowledged', () => drained(env), 20_000);
  });

  it('declares the queue again when it is deleted under a running bridge', async () => {
    const rx = await receiver();
    const env = amqpEnv();
    const { t, bridge } = await service(env, rx);
    await waitUntil('consuming', async () => (await bridge.ready()).ok);
    const publisher = createPublisher(t.config, t.ctx.redis);
    cleanups.push(() => publisher.close());
    await publishTo(publisher, { tenant: 'acme', type: 'order.created', data: { n: 1 }, id: 'before' });
    await rx.waitFor(2);
    const ch = await (await broker.connection()).createChannel();
    await ch.deleteQueue(env['WSS_AMQP_QUEUE']!);
    await ch.close();
    await waitUntil('re-declared', () => bridge.stats().groupRecreated === 1, 20_000);
    expect(t.logs.join('\n')).toMatch(/the broker cancelled the consumer: queue q\d+\.events was deleted/);
    expect((await counts(env)).type).toBe('quorum');
    await publishTo(publisher, { tenant: 'acme', type: 'order.created', data: { n: 2 }, id: 'after' });
    await rx.waitFor(4);
    expect(rx.requests.map((r) => String(r.headers['x-wss-event-id'])).sort()).toEqual([
      'after',
      'after',
      'before',
      'before',
    ]);
  });

  it('a publish to a deleted queue fails, naming it; the next one declares the queue again', async () => {
    const env = amqpEnv();
    const t = await context(env);
    const publisher = createPublisher(t.config, t.ctx.redis);
    cleanups.push(() => publisher.close());
    const send = (id: string) => publishTo(publisher, { tenant: 'acme', type: 'order.created', data: {}, id });
    await send('one');
    const ch = await (await broker.connection()).createChannel();
    await ch.deleteQueue(env['WSS_AMQP_QUEUE']!);
    await ch.close();
    await expect(send('two')).rejects.toThrow(
      /queue q\d+\.events does not exist \(the message was returned unroutable\)/,
    );
    await send('three');
    // The broker's counts lag a little behind.
    await waitUntil('the message in the new queue', async () => (await counts(env)).ready === 1);
    expect(await counts(env)).toEqual({ type: 'quorum', ready: 1, unacked: 0 });
  });

  it('uses an existing classic queue as it is, warning that it has no poison bound', async () => {
    const rx = await receiver();
    const env = amqpEnv();
    const ch = await (await broker.connection()).createChannel();
    await ch.assertQueue(env['WSS_AMQP_QUEUE']!, { durable: true });
    await ch.close();
    const { t, bridge } = await service(env, rx);
    expect(t.logs.join('\n')).toMatch(/the queue exists and is not a quorum queue.*no deliveries/);
    expect((await bridge.ready()).detail).toMatch(/not a quorum queue: no poison bound/);
    const publisher = createPublisher(t.config, t.ctx.redis);
    cleanups.push(() => publisher.close());
    await publishTo(publisher, { tenant: 'acme', type: 'order.created', data: { n: 1 }, id: 'c1' });
    await rx.waitFor(2);
    expect((await counts(env)).type).toBe('classic');
  });

  it('never shows the password: a refused login leaves the bridge running, not ready, naming the broker with ***', async () => {
    const rx = await receiver();
    const { user, vhost } = broker.amqp();
    const wrong = 'wrong-Pa55word-9f8e7d';
    const env = amqpEnv({ WSS_AMQP_URL: `amqp://${user}:${wrong}@127.0.0.1:5672/${vhost}` });
    const { t, bridge } = await service(env, rx);
    const r = await bridge.ready();
    expect(r.ok).toBe(false);
    expect(r.detail).toContain(`amqp://${user}:***@127.0.0.1:5672/${vhost}`);
    expect(r.detail).toMatch(/ACCESS_REFUSED/);
    await waitUntil('a retry', () => bridge.stats().errors >= 1);
    const publisher = createPublisher(t.config, t.ctx.redis);
    cleanups.push(() => publisher.close());
    const err = await publishTo(publisher, { tenant: 'acme', type: 'order.created', data: {} }).catch((e: Error) => e);
    expect(String(err)).toMatch(/cannot connect to amqp:\/\/.*:\*\*\*@/);
    for (const text of [r.detail, String(err), t.logs.join('\n')]) expect(text).not.toContain(wrong);
  });
});
