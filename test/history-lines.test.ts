// The delivery log's pure parts with known answers: the line format, the bridge's records of a
// planned batch, the search filters and cursor, the merge order.
import { describe, expect, it } from 'vitest';
import { bridgeRecords } from '../src/history/bridge-records.js';
import { decodeLine, decodeValues, encodeLine, escapeText, type HistoryLine } from '../src/history/lines.js';
import { attemptRecord } from '../src/history/record-attempt.js';
import { eventView, groupLines } from '../src/history/event-status.js';
import { compareItems } from '../src/history/search.js';
import { decodeCursor, encodeCursor, parseSearchQuery, parseTime } from '../src/history/search-query.js';
import type { BatchPlan } from '../src/producers/plan-batch.js';

const T = 1_764_493_200_000; // 2025-11-30T09:00:00.000Z

describe('history lines', () => {
  it('encodes to known text and back', () => {
    const lines: Array<[HistoryLine, string]> = [
      [
        {
          kind: 'b',
          tenant: 'acme',
          type: 'order.paid',
          createdAtMs: T,
          atMs: T + 5,
          outcome: 'fanned_out',
          endpoints: ['a', 'b'],
        },
        'b|acme|order.paid|milhoyo0|milhoyo5|f|a,b',
      ],
      [
        { kind: 'x', tenant: 'acme', endpoint: 'a', deadKind: 'expression', reason: 'bad | x' },
        'x|acme|a|expression|bad %7C x',
      ],
      [{ kind: 'x', tenant: 'acme', deadKind: 'unknown_tenant', reason: 'no' }, 'x|acme||unknown_tenant|no'],
      [
        {
          kind: 'a',
          tenant: 'acme',
          endpoint: 'a',
          attempt: 2,
          atMs: T,
          status: 500,
          error: 'HTTP_STATUS',
          latencyMs: 12,
          outcome: 'retry',
          response: 'line1\nline2 100%',
        },
        'a|acme|a|2|milhoyo0|500|HTTP_STATUS|12|r||line1%0Aline2 100%25',
      ],
      [
        {
          kind: 'a',
          tenant: 'acme',
          endpoint: 'a',
          attempt: 1,
          atMs: T,
          status: null,
          error: 'TIMEOUT',
          latencyMs: 5000,
          outcome: 'failed',
          response: '',
          replay: true,
        },
        'a|acme|a|1|milhoyo0||TIMEOUT|5000|f|1|',
      ],
      [
        { kind: 'c', tenant: 'acme', endpoint: 'a', atMs: T, reason: 'ENDPOINT_DELETED: gone' },
        'c|acme|a|milhoyo0|ENDPOINT_DELETED: gone',
      ],
    ];
    for (const [line, text] of lines) {
      expect(encodeLine(line)).toBe(text);
      expect(decodeLine(text)).toEqual(line);
    }
    expect(escapeText('%|\n\r')).toBe('%25%7C%0A%0D');
    expect(decodeValues(['b|acme|t|1|2|u|\nzz|future line', 'c|acme|a|3|r'])).toHaveLength(2);
  });

  it('keeps 1 KB of the response and tells cancelled from failed', () => {
    const data = { eventId: 'e1', tenant: 'acme', endpoint: 'a' };
    const big = attemptRecord({
      data,
      attempt: 1,
      atMs: T,
      latencyMs: 1,
      outcome: 'retry',
      status: 500,
      err: { code: 'HTTP_STATUS', message: 'HTTP 500', snippet: 'y'.repeat(5000) },
    });
    expect((decodeLine(big.line) as { response: string }).response).toHaveLength(1024);
    expect(big.settled).toBeUndefined();
    const gone = attemptRecord({
      data,
      attempt: 3,
      atMs: T,
      latencyMs: 0,
      outcome: 'failed',
      status: undefined,
      err: { code: 'ENDPOINT_DELETED', message: 'endpoint acme/a no longer exists' },
    });
    expect(decodeLine(gone.line)).toEqual({
      kind: 'c',
      tenant: 'acme',
      endpoint: 'a',
      atMs: T,
      reason: 'ENDPOINT_DELETED: endpoint acme/a no longer exists',
    });
    expect(gone.settled).toMatchObject({ state: 'cancelled', attempts: 2 });
    const replayed = attemptRecord({
      data: { ...data, replay: true },
      attempt: 1,
      atMs: T,
      latencyMs: 2,
      outcome: 'delivered',
      status: 204,
      snippet: '',
    });
    expect(decodeLine(replayed.line)).toMatchObject({ kind: 'a', replay: true, status: 204, outcome: 'delivered' });
    expect(replayed.settled).toMatchObject({ state: 'delivered', attempts: 1, status: 204 });
    const g410 = attemptRecord({
      data,
      attempt: 1,
      atMs: T,
      latencyMs: 2,
      outcome: 'disabled',
      status: 410,
      err: { code: 'ENDPOINT_GONE', message: 'x' },
    });
    expect(g410.settled).toMatchObject({ state: 'failed', status: 410, error: 'ENDPOINT_GONE' });
  });

  it("derives each event's bridge record from a batch plan", () => {
    const job = (eventId: string, endpoint: string) =>
      ({
        data: { eventId, tenant: 'acme', endpoint, type: 'order.paid', createdAt: T, body: '{}' },
      }) as BatchPlan['jobs'][number];
    const plan: BatchPlan = {
      jobs: [job('e1', 'a'), job('e1', 'b')],
      dead: [
        {
          entryId: `${T}-1`,
          defaultEventId: `${T}-1`,
          createdAtMs: T,
          kind: 'expression',
          reason: 'boom',
          endpoint: 'c',
          fields: { tenant: 'acme', type: 'order.paid', id: 'e1' },
        },
        {
          entryId: `${T}-2`,
          defaultEventId: `${T}-2`,
          createdAtMs: T,
          kind: 'malformed',
          reason: 'no type',
          fields: { tenant: 'acme' },
        },
      ],
      unrouted: 1,
      unroutedEvents: [{ id: 'e3', tenant: 'acme', type: 'user.x', createdAtMs: T }],
      vanished: 0,
      ackIds: [],
    };
    expect(bridgeRecords(plan, T + 9)).toEqual([
      { eventId: 'e1', lines: ['b|acme|order.paid|milhoyo0|milhoyo9|f|a,b', 'x|acme|c|expression|boom'] },
      { eventId: `${T}-2`, lines: ['b|acme||milhoyo0|milhoyo9|d|', 'x|acme||malformed|no type'] },
      { eventId: 'e3', lines: ['b|acme|user.x|milhoyo0|milhoyo9|u|'] },
    ]);
  });
});

describe('search filters', () => {
  it('reads times as ISO, epoch ms or a duration ago', () => {
    expect(parseTime('since', '2025-11-30T09:00:00Z', 0)).toBe(T);
    expect(parseTime('since', String(T), 0)).toBe(T);
    expect(parseTime('since', '2h', T)).toBe(T - 7_200_000);
    expect(() => parseTime('until', 'soon', T)).toThrow(/^until: /);
  });

  it('refuses bad filters naming the field, and round-trips the cursor', () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{}, 'tenant'],
      [{ tenant: 'Acme' }, 'tenant'],
      [{ tenant: 'acme', limit: '501' }, 'limit'],
      [{ tenant: 'acme', limit: '1.5' }, 'limit'],
      [{ tenant: 'acme', state: 'active' }, 'state'],
      [{ tenant: 'acme', endpoint: ['a', 'b'] }, 'endpoint'],
      [{ tenant: 'acme', since: '3h', until: '4h' }, 'since'],
      [{ tenant: 'acme', cursor: 'abc' }, 'cursor'],
      [{ tenant: 'acme', page: '2' }, 'page'],
    ];
    for (const [input, field] of bad) expect(() => parseSearchQuery(input, T)).toThrow(new RegExp(`^${field}: `));
    const c = { id: `${T}-3`, stream: 'orders/failed' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    expect(parseSearchQuery({ tenant: 'acme', limit: '500', since: '1h', cursor: encodeCursor(c) }, T)).toEqual({
      tenant: 'acme',
      limit: 500,
      sinceMs: T - 3_600_000,
      cursor: c,
    });
  });

  it('orders newest first, then by stream name', () => {
    const items = [
      { id: '5-0', stream: 'b/failed' },
      { id: '7-0', stream: 'a/failed' },
      { id: '5-0', stream: 'a/delivered' },
      { id: '5-1', stream: 'z/failed' },
    ];
    expect([...items].sort(compareItems)).toEqual([items[1], items[3], items[2], items[0]]);
  });
});

describe('event view', () => {
  const attempt = (n: number, outcome: 'retry' | 'failed' | 'delivered', status: number): HistoryLine => ({
    kind: 'a',
    tenant: 'acme',
    endpoint: 'orders',
    attempt: n,
    atMs: 1_700_000_000_000 + n * 1_000,
    status,
    latencyMs: 3,
    outcome,
    response: 'r',
  });
  const failedTwice = [attempt(1, 'retry', 500), attempt(2, 'failed', 500)];
  const view = (lines: HistoryLine[], state?: 'waiting' | 'active' | 'completed' | 'failed') =>
    eventView('acme', groupLines(lines).get('acme')!, new Map([['orders', state && { state }]])).deliveries[0]!;

  it('shows the state of a recovered job over the failure the lines end with', () => {
    expect(view(failedTwice).state).toBe('failed');
    expect(view(failedTwice, 'failed').state).toBe('failed');
    expect(view(failedTwice, 'waiting').state).toBe('waiting');
    expect(view(failedTwice, 'active').state).toBe('active');
    // Completed is final: it came after the failure even when its own line is not read yet.
    expect(view(failedTwice, 'completed').state).toBe('delivered');
    expect(view([...failedTwice, attempt(3, 'delivered', 200)], 'completed')).toMatchObject({
      state: 'delivered',
      attempts: [{ attempt: 1 }, { attempt: 2 }, { attempt: 3, status: 200 }],
    });
  });
});
