import { afterAll, describe, expect, it } from 'vitest';
import { parseEntry, type WssEvent } from '../src/queue/event.js';
import { planFanouts } from '../src/producers/plan-fanout.js';
import { compileEndpoint, type CompiledEndpoint } from '../src/tenants/compile.js';
import { ExpressionPool } from '../src/expressions/pool.js';
import { parseEndpoint } from '../src/tenants/schema.js';

const ENVELOPE_PREFIX =
  '{"id":"evt_1","type":"order.updated","tenant":"acme","createdAt":"2023-11-14T22:13:20.000Z","data":';

function event(type = 'order.updated', data = '{"orderId":"o-1","status":"shipped","total":30}'): WssEvent {
  const r = parseEntry('1700000000000-0', { tenant: 'acme', type, data, id: 'evt_1' });
  if (!r.ok) throw new Error(r.reason);
  return r.event;
}

const ep = (id: string, extra: Record<string, unknown> = {}) =>
  compileEndpoint(parseEndpoint({ id, url: `https://hooks.example/${id}`, secret: '0123456789abcdef', ...extra }));

// Generous deadline: these tests are about planning, not limits (see expression-pool.test.ts).
const pool = new ExpressionPool({ threads: 1, timeoutMs: 2_000, memoryMb: 64 });
afterAll(() => pool.close());
/** One event's plan (the bridge plans a whole read at once). */
const planFanout = async (event: WssEvent, endpoints: CompiledEndpoint[]) =>
  (await planFanouts([{ event, endpoints }], { runner: pool }))[0]!;

describe('planFanout', () => {
  it('sends the envelope to every enabled endpoint whose glob matches, in registry order', async () => {
    const plan = await planFanout(event(), [
      ep('all'),
      ep('orders', { events: ['order.*'], retry: { attempts: 3, backoffMs: 100 } }),
      ep('invoices', { events: ['invoice.*'] }),
      ep('off', { enabled: false }),
    ]);
    expect(plan.failures).toEqual([]);
    expect(plan.deliveries).toEqual([
      {
        endpoint: 'all',
        retry: { attempts: 20, backoffMs: 5000 },
        body: `${ENVELOPE_PREFIX}{"orderId":"o-1","status":"shipped","total":30}}`,
      },
      {
        endpoint: 'orders',
        retry: { attempts: 3, backoffMs: 100 },
        body: `${ENVELOPE_PREFIX}{"orderId":"o-1","status":"shipped","total":30}}`,
      },
    ]);
  });

  it('applies jsonata filters: only a literal true passes', async () => {
    const endpoints = [
      ep('shipped', { filter: "data.status in ['shipped','delivered']" }),
      ep('pending', { filter: "data.status = 'pending'" }),
      ep('big', { filter: 'data.total > 20' }),
      ep('envelope-fields', { filter: "type = 'order.updated' and tenant = 'acme' and id = 'evt_1'" }),
      ep('truthy-string', { filter: 'data.status' }),
      ep('missing-field', { filter: 'data.nope = 1' }),
    ];
    const plan = await planFanout(event(), endpoints);
    expect(plan.deliveries.map((d) => d.endpoint)).toEqual(['shipped', 'big', 'envelope-fields']);
    expect(plan.failures).toEqual([]);
  });

  it('applies jsonata transforms: the result, serialised, is the body', async () => {
    const plan = await planFanout(event(), [
      ep('slim', { transform: "{ 'orderId': data.orderId, 'status': data.status }" }),
      ep('scalar', { transform: 'data.total * 2' }),
      ep('both', { filter: "data.status = 'shipped'", transform: "{ 'when': createdAt, 'kind': type }" }),
    ]);
    expect(plan.deliveries.map((d) => [d.endpoint, d.body])).toEqual([
      ['slim', '{"orderId":"o-1","status":"shipped"}'],
      ['scalar', '60'],
      ['both', '{"when":"2023-11-14T22:13:20.000Z","kind":"order.updated"}'],
    ]);
  });

  it('reports a failing filter or transform for that endpoint only', async () => {
    const plan = await planFanout(event(), [
      ep('bad-filter', { filter: "$error('filter broke')" }),
      ep('ok'),
      ep('empty-transform', { transform: 'data.nothing' }),
      ep('bad-transform', { transform: "$error('transform broke')" }),
    ]);
    expect(plan.deliveries.map((d) => d.endpoint)).toEqual(['ok']);
    // Reasons name the code and position, never the message (jsonata's messages quote values).
    expect(plan.failures).toEqual([
      {
        endpoint: 'bad-filter',
        reason: 'endpoint "bad-filter": filter failed: error: $error() was called (D3137 at position 7)',
      },
      {
        endpoint: 'empty-transform',
        reason: 'endpoint "empty-transform": transform failed: error: the transform produced nothing (WSS_EMPTY)',
      },
      {
        endpoint: 'bad-transform',
        reason: 'endpoint "bad-transform": transform failed: error: $error() was called (D3137 at position 7)',
      },
    ]);
  });

  it('never puts event data into a reason', async () => {
    const card = event('order.updated', '{"card":"4111111111111111x"}');
    const p = await planFanout(card, [
      ep('cast', { filter: '$number(data.card) > 0' }),
      ep('err', { transform: '$error(data.card)' }),
    ]);
    expect(p.deliveries).toEqual([]);
    expect(p.failures.map((f) => f.reason)).toEqual([
      'endpoint "cast": filter failed: error: a value could not be cast to a number (D3030 at position 8)',
      'endpoint "err": transform failed: error: $error() was called (D3137 at position 7)',
    ]);
    expect(JSON.stringify(p)).not.toContain('4111');
  });

  it('does not send endpoints without a filter or transform to the pool', async () => {
    const calls: number[] = [];
    const [p] = await planFanouts([{ event: event(), endpoints: [ep('a'), ep('b', { events: ['order.*'] })] }], {
      runner: { run: async (_i, tasks) => (calls.push(tasks.length), []) },
    });
    expect(p!.deliveries.map((d) => d.endpoint)).toEqual(['a', 'b']);
    expect(calls).toEqual([]);
  });

  it('plans nothing (and no failure) for an event no endpoint subscribes to', async () => {
    const p = await planFanout(event('user.created'), [ep('orders', { events: ['order.*'] })]);
    expect(p).toEqual({ deliveries: [], failures: [] });
  });
});
