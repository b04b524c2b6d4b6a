// Retention of the delivery log over a real Redis: records older than WSS_HISTORY_RETENTION are
// gone (key TTL and trimming on write), and a load five times WSS_HISTORY_MAX_RECORDS keeps the
// record count and the memory under the cap.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { settledStreamKey } from '../src/history/keys.js';
import { encodeLine } from '../src/history/lines.js';
import { attemptRecord } from '../src/history/record-attempt.js';
import { HistoryStore, type HistoryStoreConfig } from '../src/history/store.js';
import { searchDeliveries } from '../src/history/search.js';
import { sleep } from './helpers/context.js';
import { useTestRedis } from './helpers/redis-server.js';

const { redis, cleanups } = useTestRedis();
let n = 0;

function store(overrides: Partial<HistoryStoreConfig>): { s: HistoryStore; r: Redis; cfg: HistoryStoreConfig } {
  const r = new Redis(redis().url);
  cleanups.push(async () => r.disconnect());
  const cfg: HistoryStoreConfig = {
    prefix: `r${++n}`,
    layout: { count: 1, cluster: false },
    retentionMs: 3_600_000,
    maxRecords: 1_000,
    ...overrides,
  };
  return { s: new HistoryStore(r, cfg), r, cfg };
}

/** One event as the pipeline writes it: the bridge's record, then one delivered attempt. */
async function deliver(s: HistoryStore, eventId: string, now: number): Promise<void> {
  const bridge = encodeLine({
    kind: 'b',
    tenant: 'acme',
    type: 'order.paid',
    createdAtMs: now,
    atMs: now,
    outcome: 'fanned_out',
    endpoints: ['orders'],
  });
  await s.append([{ eventId, lines: [bridge] }], now);
  const rec = attemptRecord({
    data: { eventId, tenant: 'acme', endpoint: 'orders' },
    attempt: 1,
    atMs: now,
    latencyMs: 4,
    outcome: 'delivered',
    status: 200,
    snippet: 'ok',
  });
  await s.recordAttempt(rec, now).written;
}

async function historyKeys(r: Redis, prefix: string): Promise<string[]> {
  return (await r.keys(`${prefix}:history:*`)).sort();
}

async function historyBytes(r: Redis, prefix: string): Promise<number> {
  let total = 0;
  for (const k of await historyKeys(r, prefix)) total += Number(await r.memory('USAGE', k, 'SAMPLES', 0));
  return total;
}

async function liveRecords(r: Redis, prefix: string): Promise<number> {
  let total = 0;
  for (const k of await r.keys(`${prefix}:history:ev:*`)) total += await r.hlen(k);
  return total;
}

describe('history retention', () => {
  it('drops records and search entries older than the retention', async () => {
    const { s, r, cfg } = store({ retentionMs: 600 });
    for (let i = 0; i < 5; i++) await deliver(s, `old-${i}`, Date.now());
    expect(await s.read('old-0')).toHaveLength(1);
    const stream = settledStreamKey(cfg, 'acme', 'orders', 'delivered');
    expect(await r.xlen(stream)).toBe(5);

    // Past the retention (+ one bucket of 600/24 ms): the old buckets expired on their own.
    await sleep(700);
    await deliver(s, 'new-0', Date.now());
    for (let i = 0; i < 5; i++) expect(await s.read(`old-${i}`)).toEqual([]);
    expect((await s.read('new-0'))[0]).toMatch(/^b\|acme\|order\.paid\|/);
    // The write trimmed the stream by time: only the new entry is left.
    const entries = (await r.xrange(stream, '-', '+')).map(([, f]) => f[1]);
    expect(entries).toEqual(['new-0']);
    const page = await searchDeliveries(r, cfg, { tenant: 'acme', limit: 50 }, ['orders'], Date.now());
    expect(page.deliveries.map((d) => d.eventId)).toEqual(['new-0']);

    // With nothing written any more, every key expires: nothing is left behind.
    await sleep(700);
    const left = (await historyKeys(r, cfg.prefix)).filter((k) => !k.endsWith(':history:ev'));
    expect(left).toEqual([]);
  });

  it('keeps a load five times the cap under the cap, oldest first out', async () => {
    const { s, r, cfg } = store({ maxRecords: 1_000 });
    const t0 = Date.now();
    for (let i = 0; i < 1_000; i++) await deliver(s, `ev-${i}`, t0);
    const atCap = await historyBytes(r, cfg.prefix);
    expect(await liveRecords(r, cfg.prefix)).toBeLessThanOrEqual(1_000);
    for (let i = 1_000; i < 4_000; i++) await deliver(s, `ev-${i}`, t0);
    // A bridge batch: 1,000 records in one call, which fills and opens buckets on its way.
    const batch = Array.from({ length: 1_000 }, (_, j) => ({ eventId: `ev-${4_000 + j}`, lines: ['b|acme|t|1|1|u|'] }));
    await s.append(batch, t0);
    const after = await historyBytes(r, cfg.prefix);
    for (const k of await r.keys(`${cfg.prefix}:history:ev:*`)) expect(await r.pttl(k)).toBeGreaterThan(0);

    expect(await liveRecords(r, cfg.prefix)).toBeLessThanOrEqual(1_000);
    expect(await liveRecords(r, cfg.prefix)).toBeGreaterThan(900);
    // Search entries: the count cap is approximate by one stream node (100 entries).
    expect(await r.xlen(settledStreamKey(cfg, 'acme', 'orders', 'delivered'))).toBeLessThanOrEqual(1_100);
    // The oldest went first; the newest are all there.
    expect(await s.read('ev-0')).toEqual([]);
    expect(await s.read('ev-3000')).toEqual([]);
    for (const i of [4_999, 4_990, 4_500]) expect(await s.read(`ev-${i}`)).toHaveLength(1);
    // Memory stays where it was at the cap (within 10 %), under 250 bytes a record.
    expect(after).toBeLessThanOrEqual(atCap * 1.1);
    expect(after).toBeLessThanOrEqual(1_000 * 250);
  });

  it('records nothing with WSS_HISTORY_RETENTION=0', async () => {
    const { s, r, cfg } = store({ retentionMs: 0 });
    await deliver(s, 'ev-1', Date.now());
    expect(s.enabled).toBe(false);
    expect(await historyKeys(r, cfg.prefix)).toEqual([]);
  });
});
