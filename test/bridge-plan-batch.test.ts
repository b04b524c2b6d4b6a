// The bridge's pure parts: batch planning, stream ids, reply shapes, dead-letter fields.
import { afterAll, describe, expect, it } from 'vitest';
import { isGroupGone } from '../src/producers/sources/redis-stream/consumer-group.js';
import { deadLetterArgs } from '../src/producers/dead-letter.js';
import { planBatch, type EndpointLookup } from '../src/producers/plan-batch.js';
import { streamMessage } from '../src/producers/sources/redis-stream/source.js';
import { eventFields } from '../src/queue/publish.js';
import { compareStreamIds, maxStreamId, nextStreamId } from '../src/redis/streams/stream-id.js';
import { claimReply, readGroupEntries, type StreamEntry } from '../src/redis/streams/stream-reply.js';
import { compileEndpoint } from '../src/tenants/compile.js';
import { ExpressionPool } from '../src/expressions/pool.js';
import { parseEndpoint } from '../src/tenants/schema.js';

const ep = (id: string, extra: Record<string, unknown> = {}) =>
  compileEndpoint(parseEndpoint({ id, url: `https://hooks.example/${id}`, secret: '0123456789abcdef', ...extra }));
const registry: Record<string, ReturnType<typeof ep>[]> = {
  acme: [
    ep('orders', { events: ['order.*'], retry: { attempts: 4, backoffMs: 50 } }),
    ep('broken', { events: ['order.*'], transform: "$error('x')" }),
  ],
  globex: [ep('all')],
  quiet: [],
};
const lookup: EndpointLookup = (t) => registry[t];
const KEEP = { dedupTtlMs: 60_000, keepCompleted: { count: 10, age: 60 } };
const pool = new ExpressionPool({ threads: 1, timeoutMs: 2_000, memoryMb: 64 });
afterAll(() => pool.close());
const EXPR = { runner: pool };

describe('planBatch', () => {
  it("dead-letters a message its source could not read as an envelope (malformed), with the source's reason", async () => {
    const plan = await planBatch(
      [
        {
          id: 'q#1',
          fields: { body: 'not json' },
          defaultEventId: 'd1',
          createdAtMs: 5,
          malformed: 'message body is not JSON',
        },
        { id: 'q#2', fields: { tenant: 'globex', type: 't', data: '{}' }, defaultEventId: 'd2', createdAtMs: 6 },
      ],
      lookup,
      KEEP,
      EXPR,
    );
    expect(plan.ackIds).toEqual(['q#1', 'q#2']);
    expect(plan.dead).toEqual([
      {
        entryId: 'q#1',
        defaultEventId: 'd1',
        createdAtMs: 5,
        kind: 'malformed',
        reason: 'message body is not JSON',
        fields: { body: 'not json' },
      },
    ]);
    expect(plan.jobs.map((j) => j.opts.jobId)).toEqual(['globex.all.d2']);
  });

  it('turns a batch into jobs, dead letters and acks, one ack per entry', async () => {
    const plan = await planBatch(
      [
        { id: '1700000000000-0', fields: { tenant: 'acme', type: 'order.created', data: '{"a":1}', id: 'e1' } },
        { id: '1700000000000-1', fields: { tenant: 'globex', type: 'order.created', data: '{"b":2}' } },
        { id: '1700000000000-2', fields: { tenant: 'nobody', type: 'x', data: '{}' } },
        { id: '1700000000000-3', fields: { tenant: 'acme', type: 'x', data: 'nope' } },
        { id: '1700000000000-4', fields: { tenant: 'quiet', type: 'x', data: '{}' } },
        { id: '1700000000000-5', fields: null },
      ].map((e) => streamMessage(e as StreamEntry)),
      lookup,
      KEEP,
      EXPR,
    );
    expect(plan.ackIds).toEqual([
      '1700000000000-0',
      '1700000000000-1',
      '1700000000000-2',
      '1700000000000-3',
      '1700000000000-4',
      '1700000000000-5',
    ]);
    expect(plan.unrouted).toBe(1);
    expect(plan.vanished).toBe(1);
    expect(plan.jobs.map((j) => j.opts.jobId)).toEqual(['acme.orders.e1', 'globex.all.1700000000000-1']);
    expect(plan.jobs[0]).toEqual({
      name: 'deliver',
      data: {
        eventId: 'e1',
        tenant: 'acme',
        endpoint: 'orders',
        type: 'order.created',
        createdAt: 1_700_000_000_000,
        body: '{"id":"e1","type":"order.created","tenant":"acme","createdAt":"2023-11-14T22:13:20.000Z","data":{"a":1}}',
      },
      opts: {
        jobId: 'acme.orders.e1',
        attempts: 4,
        backoff: { type: 'wss', delay: 50 },
        deduplication: { id: 'acme.orders.e1', ttl: 60_000 },
        removeOnComplete: { count: 10, age: 60 },
        removeOnFail: false,
      },
    });
    expect(plan.dead.map((d) => [d.entryId, d.kind, d.endpoint, d.reason])).toEqual([
      [
        '1700000000000-0',
        'expression',
        'broken',
        'endpoint "broken": transform failed: error: $error() was called (D3137 at position 7)',
      ],
      ['1700000000000-2', 'unknown_tenant', undefined, 'unknown tenant "nobody"'],
      ['1700000000000-3', 'malformed', undefined, 'field "data" is not JSON'],
    ]);
  });

  it('is empty for an empty batch', async () => {
    expect(await planBatch([], lookup, KEEP, EXPR)).toEqual({
      jobs: [],
      dead: [],
      unrouted: 0,
      vanished: 0,
      ackIds: [],
    });
  });
});

describe('dead-letter fields', () => {
  it('keeps the original fields and adds reason, entryId and the endpoint when there is one', () => {
    expect(
      deadLetterArgs({ entryId: '1-0', kind: 'malformed', reason: 'r', fields: { tenant: 'a', data: 'x' } }),
    ).toEqual(['tenant', 'a', 'data', 'x', 'reason', 'r', 'entryId', '1-0']);
    expect(
      deadLetterArgs({
        entryId: '1-0',
        kind: 'expression',
        reason: 'r',
        endpoint: 'e',
        fields: { reason: 'producer', type: 't' },
      }),
    ).toEqual(['reason', 'r', 'type', 't', 'entryId', '1-0', 'endpoint', 'e']);
  });
});

describe('stream ids', () => {
  it('compare numerically, not as strings', () => {
    expect(compareStreamIds('9-0', '10-0')).toBe(-1);
    expect(compareStreamIds('10-2', '10-10')).toBe(-1);
    expect(compareStreamIds('5-5', '5-5')).toBe(0);
    expect(compareStreamIds('0', '0-0')).toBe(0);
    expect(compareStreamIds('18446744073709551615-1', '18446744073709551615-0')).toBe(1);
  });
  it('step to the next id, carrying over a full sequence', () => {
    expect(nextStreamId('0-0')).toBe('0-1');
    expect(nextStreamId('1700000000000-41')).toBe('1700000000000-42');
    expect(nextStreamId('5-18446744073709551615')).toBe('6-0');
  });
  it('take the larger id', () => {
    expect(maxStreamId(undefined, '3-0')).toBe('3-0');
    expect(maxStreamId('10-0', '9-9')).toBe('10-0');
  });
  it('refuse what is not an id', () => {
    expect(() => compareStreamIds('x', '1-0')).toThrow(/not a stream id/);
  });
});

describe('reply shapes', () => {
  const items = [
    ['1-0', ['tenant', 'a', 'data', '{}']],
    ['2-0', null],
  ];
  it('reads XREADGROUP in RESP2 and RESP3 shape, and nothing', () => {
    const expected = [
      { id: '1-0', fields: { tenant: 'a', data: '{}' } },
      { id: '2-0', fields: null },
    ];
    expect(readGroupEntries([['s', items]])).toEqual(expected);
    expect(readGroupEntries(['s', items])).toEqual(expected);
    expect(readGroupEntries(null)).toEqual([]);
    expect(readGroupEntries([])).toEqual([]);
  });
  it('reads XCLAIM, leaving out deleted entries', () => {
    expect(claimReply(items)).toEqual([{ id: '1-0', fields: { tenant: 'a', data: '{}' } }]);
    expect(claimReply(null)).toEqual([]);
  });
});

describe('group errors', () => {
  it('recognises a vanished group or stream', () => {
    expect(
      isGroupGone(new Error("NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option")),
    ).toBe(true);
    expect(isGroupGone(new Error('UNBLOCKED the stream key no longer exists'))).toBe(true);
    expect(isGroupGone(new Error('UNBLOCKED the consumer group this client was blocked on no longer exists'))).toBe(
      true,
    );
    expect(isGroupGone(new Error('Connection is closed.'))).toBe(false);
  });
});

describe('eventFields (publish validation)', () => {
  it('serialises data as JSON and keeps the optional id', () => {
    expect(eventFields({ tenant: 'acme', type: 'a.b', data: { x: [1, 'two'] } })).toEqual({
      tenant: 'acme',
      type: 'a.b',
      data: '{"x":[1,"two"]}',
    });
    expect(eventFields({ tenant: 'acme', type: 'a.b', data: 'text', id: 'e-1' })).toEqual({
      tenant: 'acme',
      type: 'a.b',
      data: '"text"',
      id: 'e-1',
    });
  });
  it('refuses with the same reasons the bridge dead-letters with', () => {
    expect(() => eventFields({ tenant: 'acme', type: 'a', data: () => 1 })).toThrow(/cannot be written as JSON/);
    expect(() => eventFields({ tenant: 'acme', type: 'a', data: 1n })).toThrow(/cannot be written as JSON/);
    expect(() => eventFields({ tenant: 'nope!', type: 'a', data: 1 })).toThrow(
      'event rejected: field "tenant" is not a valid tenant id',
    );
  });
});
