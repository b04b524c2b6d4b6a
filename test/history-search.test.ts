// Search of the delivery log over real Redis and receivers: by state and time window, newest
// first, exactly the matching deliveries across pages; bad filters are a 400 naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import type { DeliveryItem, SearchPage } from '../src/history/search.js';
import { settledStreamKey } from '../src/history/keys.js';
import { publishEvent } from '../src/queue/publish.js';
import { startBridge } from '../src/producers/bridge.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { endpoint, isolatedEnv, makeCtx, waitUntil, type TestCtx } from './helpers/bridge-context.js';
import { basic } from './helpers/dashboard-context.js';
import { sleep } from './helpers/context.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { useTestRedis } from './helpers/redis-server.js';
import { runWss, serviceEnv } from './helpers/wss-process.js';

const { redis } = useTestRedis();
const PASSWORD = 'history-search-password';
const PER_PHASE = 30;

let t: TestCtx;
let rx: Receiver;
let dash: RunningDashboard;
const roles: RunningRole[] = [];
let splitAt = 0;
let endAt = 0;

async function get(query: string): Promise<{ status: number; body: SearchPage & { error?: string } }> {
  const res = await fetch(`${dash.url}/api/deliveries?${query}`, {
    headers: { authorization: basic('admin', PASSWORD) },
  });
  return { status: res.status, body: (await res.json()) as SearchPage & { error?: string } };
}

async function publishPhase(phase: number): Promise<void> {
  for (let i = 0; i < PER_PHASE; i++)
    await publishEvent(
      t.ctx.redis,
      t.config.stream,
      { tenant: 'acme', type: 'order.paid', data: { i }, id: `p${phase}-${i}` },
      1e6,
    );
  // Settled: every event reached both paths and both search streams have it.
  await waitUntil(
    `phase ${phase} settled`,
    async () =>
      (await t.queue.getJobCounts('failed')).failed === phase * PER_PHASE &&
      (await t.queue.getJobCounts('completed')).completed === 0 &&
      (await t.queue.getJobCounts('active', 'waiting', 'prioritized')).active === 0,
    20_000,
  );
}

/** Every page of a search, following nextCursor. */
async function allPages(query: string): Promise<{ items: DeliveryItem[]; pages: number }> {
  const items: DeliveryItem[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r = await get(`${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status).toBe(200);
    items.push(...r.body.deliveries);
    cursor = r.body.nextCursor;
    pages++;
  } while (cursor && pages < 100);
  return { items, pages };
}

beforeAll(async () => {
  rx = await startReceiver((req) => ({ status: req.path === '/bad' ? 400 : 200, body: 'answer' }));
  const env = isolatedEnv({ WSS_KEEP_COMPLETED_COUNT: '0', WSS_DASHBOARD_PASSWORD: PASSWORD, PORT: '0' });
  t = await makeCtx(redis().url, env, {
    tenants: [
      {
        id: 'acme',
        endpoints: [endpoint('good', { url: `${rx.url}/good` }), endpoint('bad', { url: `${rx.url}/bad` })],
      },
      { id: 'other', endpoints: [endpoint('x', { url: `${rx.url}/good` })] },
    ],
  });
  roles.push(await startWorker(t.ctx), await startBridge(t.ctx));
  dash = await startDashboard(t.ctx);
  await publishPhase(1);
  await sleep(20);
  splitAt = Date.now();
  await sleep(20);
  await publishPhase(2);
  // The worker writes the log before the job completes, but the receiver hears first.
  const goodLog = settledStreamKey(t.config, 'acme', 'good', 'delivered');
  await waitUntil('good deliveries logged', async () => (await t.ctx.redis.xlen(goodLog)) === 2 * PER_PHASE);
  await sleep(20);
  endAt = Date.now();
}, 60_000);

afterAll(async () => {
  await dash?.stop();
  for (const r of roles.reverse()) await r.stop();
  await rx?.close();
  await t?.close();
});

const ids = (items: DeliveryItem[]) => items.map((d) => `${d.endpoint}:${d.eventId}`).sort();
const expected = (phase: number, ep: string) => Array.from({ length: PER_PHASE }, (_, i) => `${ep}:p${phase}-${i}`);

describe('GET /api/deliveries', () => {
  it('finds exactly the failed deliveries of a time window, newest first, across pages', async () => {
    const since = new Date(splitAt).toISOString();
    const { items, pages } = await allPages(`tenant=acme&state=failed&since=${since}&limit=7`);
    expect(pages).toBe(Math.ceil(PER_PHASE / 7));
    expect(ids(items)).toEqual(expected(2, 'bad').sort());
    for (const d of items) expect(d).toMatchObject({ tenant: 'acme', state: 'failed', attempts: 1, status: 400 });
    const times = items.map((d) => Date.parse(d.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const before = await allPages(`tenant=acme&state=failed&until=${splitAt}&limit=500`);
    expect(ids(before.items)).toEqual(expected(1, 'bad').sort());
  });

  it('merges every endpoint and state of the tenant, one endpoint alone, and the CLI pages the same', async () => {
    const all = await allPages(`tenant=acme&since=${new Date(splitAt - 60_000).toISOString()}&until=${endAt}&limit=25`);
    expect(ids(all.items)).toEqual(
      [...expected(1, 'bad'), ...expected(2, 'bad'), ...expected(1, 'good'), ...expected(2, 'good')].sort(),
    );
    expect(new Set(all.items.map((d) => `${d.endpoint}:${d.eventId}`)).size).toBe(4 * PER_PHASE);
    const good = await allPages('tenant=acme&endpoint=good&state=delivered&limit=500');
    expect(ids(good.items)).toEqual([...expected(1, 'good'), ...expected(2, 'good')].sort());

    const env = serviceEnv(redis().url, t.config.prefix, { WSS_STREAM: t.config.stream, LOG_LEVEL: 'warn' });
    const api = await get(`tenant=acme&state=failed&since=${splitAt}&limit=10`);
    const cli = runWss(
      ['deliveries', '--tenant', 'acme', '--state', 'failed', '--since', String(splitAt), '--limit', '10', '--json'],
      env,
    );
    expect(cli.status).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual(api.body);
    const next = runWss(
      [
        'deliveries',
        '--tenant',
        'acme',
        '--state',
        'failed',
        '--since',
        String(splitAt),
        '--limit',
        '10',
        '--cursor',
        api.body.nextCursor!,
      ],
      env,
    );
    expect(next.status).toBe(0);
    const page2 = await get(`tenant=acme&state=failed&since=${splitAt}&limit=10&cursor=${api.body.nextCursor!}`);
    for (const d of page2.body.deliveries) expect(next.stdout).toContain(d.eventId);
    expect(next.stdout).toMatch(/^AT\s+ENDPOINT\s+EVENT\s+STATE\s+ATTEMPTS\s+LAST$/m);

    const bad = runWss(['deliveries', '--tenant', 'acme', '--limit', '501'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--limit: /);
  });

  it('answers 400 naming the field, 404 for an unknown tenant or endpoint', async () => {
    const cases: Array<[string, number, RegExp]> = [
      ['tenant=acme&limit=501', 400, /"limit"/],
      ['tenant=acme&limit=0', 400, /"limit"/],
      ['tenant=acme&since=yesterday', 400, /"since"/],
      ['tenant=acme&until=2026-13-45T00:00:00Z', 400, /"until"/],
      [`tenant=acme&since=${endAt}&until=${splitAt}`, 400, /"since"/],
      ['tenant=acme&state=waiting', 400, /"state"/],
      ['tenant=acme&cursor=nonsense', 400, /"cursor"/],
      ['state=failed', 400, /"tenant"/],
      ['tenant=acme&colour=red', 400, /"colour"/],
      ['tenant=nobody', 404, /"tenant".*nobody/],
      ['tenant=acme&endpoint=nope', 404, /"endpoint".*nope/],
    ];
    for (const [query, status, error] of cases) {
      const r = await get(query);
      expect({ query, status: r.status }).toEqual({ query, status });
      expect(r.body.error).toMatch(error);
    }
  });
});
