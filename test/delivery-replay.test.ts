// Replay from the stream over real Redis, the real bridge and worker and real receivers: a range
// of 500 events to one endpoint arrives once each with X-WSS-Replay: true and the original event
// id; a dry run sends nothing; today's filters apply; ranges over the cap or past the retention
// and bad fields are refused (400 naming them) with nothing queued.
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
const PASSWORD = 'replay-test-password';
const N = 500;

let t: TestContext;
let dash: RunningDashboard;
let queue: DeliveryQueue;
let orders: Receiver;
let audit: Receiver;
const roles: RunningRole[] = [];
let t0: string;
let t1: string;

async function call(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${dash.url}/api/replay`, {
    method: 'POST',
    headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const ids = (reqs: Received[]) => reqs.map((r) => String(r.headers['x-wss-event-id']));
const replayed = (rx: Receiver) => rx.requests.filter((r) => r.headers['x-wss-replay'] === 'true');
const jobCount = async () => Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);

async function publishBatch(prefix: string, count: number): Promise<void> {
  const p = t.ctx.redis.pipeline();
  for (let i = 0; i < count; i++) {
    p.xadd(t.config.stream, '*', 'tenant', 'acme', 'type', 'order.paid', 'id', `${prefix}${i}`, 'data', `{"n":${i}}`);
    // Another tenant's events in the same range are never replayed for acme.
    if (i % 10 === 0) p.xadd(t.config.stream, '*', 'tenant', 'globex', 'type', 'order.paid', 'data', `{"n":${i}}`);
  }
  await p.exec();
}

beforeAll(async () => {
  orders = await startReceiver();
  audit = await startReceiver();
  t = await startTestContext(
    {
      WSS_DASHBOARD_PASSWORD: PASSWORD,
      WSS_BLOCK_MS: '100',
      WSS_REPLAY_MAX_EVENTS: String(N + 5),
      WSS_KEEP_COMPLETED_COUNT: '0',
    },
    redis(),
  );
  const ep = (id: string, url: string) => orderEndpoint(id, url, `secret-${id}-0123456789`);
  await t.ctx.registry.putEndpoint('acme', ep('orders', `${orders.url}/orders`));
  await t.ctx.registry.putEndpoint('acme', ep('audit', `${audit.url}/audit`));
  await t.ctx.registry.putEndpoint('globex', ep('all', `${audit.url}/globex`));
  roles.push(await startWorker(t.ctx), await startBridge(t.ctx));
  dash = await startDashboard(t.ctx);
  queue = createDeliveryQueue(t.ctx.redis, t.config.prefix);
  queue.on('error', () => {});

  t0 = new Date(Date.now() - 1).toISOString();
  await publishBatch('evt-', N);
  await orders.waitFor(N, 30_000);
  await audit.waitFor(N + N / 10, 30_000);
  // Requests counted at the receivers may include a repeat (a POST answered after the worker's
  // timeout on a loaded machine is retried): wait until every original job has settled, so
  // nothing of the originals arrives during the replays below.
  await waitUntil('the original deliveries settled', async () => (await jobCount()) === 0, 60_000);
  t1 = new Date(Date.now()).toISOString();
}, 120_000);

afterAll(async () => {
  await dash?.stop();
  for (const r of roles.reverse()) await r.stop();
  await queue?.close();
  await orders?.close();
  await audit?.close();
  await t?.close();
});

describe('replay', () => {
  it('a dry run counts the range and sends nothing', async () => {
    const dry = await call({ tenant: 'acme', endpoint: 'orders', from: t0, to: t1, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ dryRun: true, events: N, deliveries: N, skipped: 0 });
    expect(dry.json.replayId).toBeUndefined();
    expect(dry.json.firstEventIds).toEqual(Array.from({ length: 10 }, (_, i) => `evt-${i}`));
    await sleep(300);
    expect(replayed(orders)).toHaveLength(0);
    expect(await jobCount()).toBe(0);
  });

  it('500 events to one endpoint: each arrives once, with X-WSS-Replay: true and its original id', async () => {
    const before = { orders: orders.requests.length, audit: audit.requests.length };
    const run = await call({ tenant: 'acme', endpoint: 'orders', from: t0, to: t1 });
    expect(run.status).toBe(202);
    expect(run.json).toMatchObject({ dryRun: false, events: N, deliveries: N });
    expect(run.json.replayId).toMatch(/^[a-z0-9]+$/);
    await orders.waitFor(before.orders + N, 30_000);
    await sleep(300);
    const got = orders.requests.slice(before.orders);
    expect(got).toHaveLength(N);
    expect(got.every((r) => r.headers['x-wss-replay'] === 'true')).toBe(true);
    expect(new Set(ids(got)).size).toBe(N);
    expect(ids(got).sort()).toEqual(Array.from({ length: N }, (_, i) => `evt-${i}`).sort());
    // Same body as the original delivery of that event.
    const original = new Map(orders.requests.slice(0, N).map((r) => [String(r.headers['x-wss-event-id']), r.body]));
    for (const r of got) expect(r.body).toBe(original.get(String(r.headers['x-wss-event-id'])));
    expect(audit.requests.length).toBe(before.audit); // only the named endpoint
  });

  it('all endpoints of the tenant, through the filters as they are today', async () => {
    await t.ctx.registry.updateEndpoint('acme', 'audit', (cur) => ({ ...cur, filter: 'data.n < 3' }));
    const from = new Date(Date.now() - 1).toISOString();
    await publishBatch('late-', 6);
    await waitUntil('originals delivered', () => ids(orders.requests).includes('late-5'));
    const before = { orders: replayed(orders).length, audit: replayed(audit).length };
    const run = await call({ tenant: 'acme', from, to: 'now' });
    expect(run.json).toMatchObject({ events: 6, deliveries: 9 }); // 6 to orders, 3 pass audit's filter
    await waitUntil(
      'replays delivered',
      () => replayed(orders).length === before.orders + 6 && replayed(audit).length === before.audit + 3,
    );
    expect(ids(replayed(audit).slice(before.audit)).sort()).toEqual(['late-0', 'late-1', 'late-2']);
  });

  it('refuses a range holding more events than WSS_REPLAY_MAX_EVENTS, naming the range', async () => {
    const r = await call({ tenant: 'acme', endpoint: 'orders', from: t0, to: 'now', dryRun: true });
    expect(r.status).toBe(400);
    expect(String(r.json.error)).toMatch(
      /the range .* holds more than 505 events of tenant "acme" \(WSS_REPLAY_MAX_EVENTS\)/,
    );
  });

  it('refuses bad fields with a 400 naming them, queuing nothing', async () => {
    const jobsBefore = await jobCount();
    const cases: Array<[unknown, RegExp]> = [
      [{ from: '1h', to: 'now' }, /field "tenant": required/],
      [{ tenant: 'nobody', from: '1h', to: 'now' }, /field "tenant": unknown tenant "nobody"/],
      [
        { tenant: 'acme', endpoint: 'nope', from: '1h', to: 'now' },
        /field "endpoint": tenant "acme" has no endpoint "nope"/,
      ],
      [{ tenant: 'acme', from: 'last week', to: 'now' }, /field "from": must be/],
      [{ tenant: 'acme', from: '1h' }, /field "to": required/],
      [{ tenant: 'acme', from: '1h', to: '2h' }, /field "to": .* is before "from"/],
      [{ tenant: 'acme', from: '2999-01-01', to: 'now' }, /field "from": .* is in the future/],
      [{ tenant: 'acme', from: '1h', to: 'now', dryRun: 1 }, /field "dryRun"/],
      [{ tenant: 'acme', from: '1h', to: 'now', extra: true }, /field "extra": unknown field/],
    ];
    for (const [body, re] of cases) {
      const r = await call(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(String(r.json.error), JSON.stringify(body)).toMatch(re);
    }
    expect(await jobCount()).toBe(jobsBefore);
  });

  it('wss replay --dry-run prints the count; a range past the retention is refused saying what is kept', async () => {
    const env = {
      REDIS_URL: redis().url,
      WSS_PREFIX: t.config.prefix,
      WSS_STREAM: t.config.stream,
      WSS_REPLAY_MAX_EVENTS: '1000',
    };
    const dry = runWss(
      ['replay', '--tenant', 'acme', '--endpoint', 'orders', '--from', t0, '--to', t1, '--dry-run', '--json'],
      env,
    );
    expect(dry.status, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ events: N, deliveries: N, dryRun: true });
    const human = runWss(
      ['replay', '--tenant', 'acme', '--endpoint', 'orders', '--from', t0, '--to', t1, '--dry-run'],
      env,
    );
    expect(human.stdout).toMatch(
      /^500 events from \S+ to \S+: 500 deliveries to acme\/orders \(dry run: nothing queued\)\n {2}first events: evt-0, evt-1,/,
    );

    // What the bridge does past WSS_STREAM_RETENTION: the first 100 entries go.
    const first = (await t.ctx.redis.xrange(t.config.stream, '-', '+', 'COUNT', 111)) as Array<[string, string[]]>;
    await t.ctx.redis.xtrim(t.config.stream, 'MINID', first.at(-1)![0]);
    const oldest = new Date(Number(first.at(-1)![0].split('-')[0])).toISOString();
    const r = await call({ tenant: 'acme', endpoint: 'orders', from: t0, to: t1, dryRun: true });
    expect(r.status).toBe(400);
    expect(String(r.json.error)).toContain('field "from": the range starts at');
    expect(String(r.json.error)).toContain(`the stream keeps entries from ${oldest} on`);
    const cli = runWss(['replay', '--tenant', 'acme', '--from', t0, '--to', t1, '--dry-run'], env);
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/--from: the range starts at .* older entries were trimmed \(WSS_STREAM_RETENTION=1d\)/);
    // From the oldest kept entry on, the range is whole again.
    const ok = await call({ tenant: 'acme', endpoint: 'orders', from: oldest, to: t1, dryRun: true });
    expect(ok.status).toBe(200);
  });
});
