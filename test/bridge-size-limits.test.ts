// The event size limit (WSS_MAX_EVENT_BYTES) and the bridge's byte budget per read, pure parts.
import { afterAll, describe, expect, it } from 'vitest';
import { parseEntry, type WssEvent } from '../src/queue/event.js';
import { planFanouts } from '../src/producers/plan-fanout.js';
import { planBatch } from '../src/producers/plan-batch.js';
import { streamMessage } from '../src/producers/sources/redis-stream/source.js';
import { EventRejectedError, eventFields } from '../src/queue/publish.js';
import { entryBytes, nextReadCount } from '../src/producers/sources/redis-stream/read-budget.js';
import type { StreamEntry } from '../src/redis/streams/stream-reply.js';
import { compileEndpoint } from '../src/tenants/compile.js';
import { ExpressionPool } from '../src/expressions/pool.js';
import { parseEndpoint } from '../src/tenants/schema.js';

const ENTRY = '1700000000000-0';
const ep = (id: string, extra: Record<string, unknown> = {}) =>
  compileEndpoint(parseEndpoint({ id, url: `https://hooks.example/${id}`, secret: '0123456789abcdef', ...extra }));
// Generous deadline: these tests are about sizes, not expression limits.
const pool = new ExpressionPool({ threads: 1, timeoutMs: 2_000, memoryMb: 64 });
afterAll(() => pool.close());
const EXPR = { runner: pool };
const KEEP = { dedupTtlMs: 60_000, keepCompleted: { count: 10, age: 60 } };
/** A JSON string value whose text is exactly `bytes` bytes long (ASCII). */
const jsonOfBytes = (bytes: number) => JSON.stringify('x'.repeat(bytes - 2));

function event(data: string): WssEvent {
  const r = parseEntry(ENTRY, { tenant: 'acme', type: 'order.updated', data, id: 'evt_1' }, 1_000_000);
  if (!r.ok) throw new Error(r.reason);
  return r.event;
}

describe('parseEntry: size limit on data', () => {
  it('accepts data of exactly the limit and refuses one byte more as too_large, without quoting it', () => {
    expect(parseEntry(ENTRY, { tenant: 'acme', type: 't', data: jsonOfBytes(1024) }, 1024).ok).toBe(true);
    const r = parseEntry(ENTRY, { tenant: 'acme', type: 't', data: jsonOfBytes(1025) }, 1024);
    expect(r).toEqual({
      ok: false,
      kind: 'too_large',
      reason: 'field "data" is 1025 bytes, more than WSS_MAX_EVENT_BYTES (1024)',
    });
  });

  it('counts UTF-8 bytes, not characters', () => {
    const data = JSON.stringify('é'.repeat(400)); // 402 characters, 802 bytes
    expect(parseEntry(ENTRY, { tenant: 'acme', type: 't', data }, 801)).toMatchObject({ ok: false, kind: 'too_large' });
    expect(parseEntry(ENTRY, { tenant: 'acme', type: 't', data }, 802).ok).toBe(true);
  });

  it('defaults to 256 KiB', () => {
    expect(parseEntry(ENTRY, { tenant: 'acme', type: 't', data: jsonOfBytes(262_144) }).ok).toBe(true);
    expect(parseEntry(ENTRY, { tenant: 'acme', type: 't', data: jsonOfBytes(262_145) })).toMatchObject({
      ok: false,
      kind: 'too_large',
    });
  });
});

describe('planFanout: size limit on transformed bodies', () => {
  it('refuses an oversize transformed body for that endpoint only', async () => {
    const plan = (
      await planFanouts(
        [
          {
            event: event('{"n":3}'),
            endpoints: [
              ep('plain'),
              ep('small', { transform: '{ "n": data.n }' }),
              ep('huge', { transform: '{ "pad": $pad("", 5000, "x") }' }),
            ],
          },
        ],
        EXPR,
        2_000,
      )
    )[0]!;
    expect(plan.deliveries.map((d) => d.endpoint)).toEqual(['plain', 'small']);
    expect(plan.failures).toEqual([
      {
        endpoint: 'huge',
        kind: 'too_large',
        reason: 'endpoint "huge": transform produced 5010 bytes, more than WSS_MAX_EVENT_BYTES (2000)',
      },
    ]);
  });
});

describe('planBatch: too_large dead letters', () => {
  it('dead-letters an oversize entry without copying its data, and a too-large transform per endpoint', async () => {
    const big = jsonOfBytes(3_000);
    const entries: StreamEntry[] = [
      { id: '1700000000000-0', fields: { tenant: 'acme', type: 'order.created', data: big, id: 'big' } },
      { id: '1700000000000-1', fields: { tenant: 'acme', type: 'order.created', data: '{"n":1}', id: 'small' } },
    ];
    const endpoints = [ep('orders'), ep('padded', { transform: '{ "pad": $pad("", 5000, "x") }' })];
    const plan = await planBatch(entries.map(streamMessage), () => endpoints, { ...KEEP, maxEventBytes: 2_048 }, EXPR);
    expect(plan.jobs.map((j) => j.opts.jobId)).toEqual(['acme.orders.small']);
    expect(plan.dead).toEqual([
      {
        entryId: '1700000000000-0',
        defaultEventId: '1700000000000-0',
        createdAtMs: 1_700_000_000_000,
        kind: 'too_large',
        reason: 'field "data" is 3000 bytes, more than WSS_MAX_EVENT_BYTES (2048)',
        fields: { tenant: 'acme', type: 'order.created', id: 'big', dataBytes: '3000' },
      },
      {
        entryId: '1700000000000-1',
        defaultEventId: '1700000000000-1',
        createdAtMs: 1_700_000_000_000,
        kind: 'too_large',
        endpoint: 'padded',
        reason: 'endpoint "padded": transform produced 5010 bytes, more than WSS_MAX_EVENT_BYTES (2048)',
        fields: entries[1]!.fields,
      },
    ]);
    expect(plan.ackIds).toEqual(['1700000000000-0', '1700000000000-1']);
  });
});

describe('eventFields (publish): size limit', () => {
  it('refuses oversize data up front with EVENT_TOO_LARGE naming the field', () => {
    expect(eventFields({ tenant: 'acme', type: 't', data: 'x'.repeat(1_022) }, 1_024).data).toHaveLength(1_024);
    let err: unknown;
    try {
      eventFields({ tenant: 'acme', type: 't', data: 'x'.repeat(1_023) }, 1_024);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EventRejectedError);
    expect(err).toMatchObject({
      code: 'EVENT_TOO_LARGE',
      field: 'data',
      message: 'event rejected: field "data" is 1025 bytes, more than WSS_MAX_EVENT_BYTES (1024)',
    });
  });
});

describe('read budget', () => {
  const entry = (bytes: number): StreamEntry => ({ id: '1-0', fields: { data: 'x'.repeat(bytes - 4) } });

  it('counts field names and values in UTF-8', () => {
    expect(entryBytes([entry(100), { id: '2-0', fields: null }, { id: '3-0', fields: { t: 'é' } }])).toBe(103);
  });

  it('sets the next COUNT to the entries of the last average size that fit the budget, 1 to the maximum', () => {
    expect(
      nextReadCount(
        Array.from({ length: 10 }, () => entry(1_000)),
        8_000,
        500,
        500,
      ),
    ).toBe(8);
    expect(nextReadCount([entry(100_000)], 8_000, 500, 500)).toBe(1);
    expect(nextReadCount([entry(10)], 8_000, 500, 1)).toBe(500);
    expect(nextReadCount([], 8_000, 500, 3)).toBe(3);
  });
});

describe('configuration', () => {
  it('defaults WSS_MAX_EVENT_BYTES to 256 KiB and WSS_BATCH_BYTES to 8 MiB, and refuses values under 1024', async () => {
    const { parseConfig } = await import('../src/config.js');
    expect(parseConfig({})).toMatchObject({ maxEventBytes: 262_144, bridge: { batchBytes: 8_388_608 } });
    expect(parseConfig({ WSS_MAX_EVENT_BYTES: '1024', WSS_BATCH_BYTES: '65536' })).toMatchObject({
      maxEventBytes: 1_024,
      bridge: { batchBytes: 65_536 },
    });
    expect(() => parseConfig({ WSS_MAX_EVENT_BYTES: '10' })).toThrow(/WSS_MAX_EVENT_BYTES/);
    expect(() => parseConfig({ WSS_BATCH_BYTES: 'lots' })).toThrow(/WSS_BATCH_BYTES/);
  });
});
