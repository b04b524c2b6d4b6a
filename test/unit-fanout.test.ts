import { describe, expect, it } from 'vitest';
import { parseEntry, type WssEvent } from '../src/event.js';
import { planFanout } from '../src/plan-fanout.js';
import { compileEndpoint } from '../src/tenants/compile.js';
import { parseEndpoint } from '../src/tenants/schema.js';

const ENVELOPE_PREFIX = '{"id":"evt_1","type":"order.updated","tenant":"acme","createdAt":"2023-11-14T22:13:20.000Z","data":';

function event(type = 'order.updated', data = '{"orderId":"o-1","status":"shipped","total":30}'): WssEvent {
  const r = parseEntry('1700000000000-0', { tenant: 'acme', type, data, id: 'evt_1' });
  if (!r.ok) throw new Error(r.reason);
  return r.event;
}

const ep = (id: string, extra: Record<string, unknown> = {}) =>
  compileEndpoint(parseEndpoint({ id, url: `https://hooks.example/${id}`, secret: '0123456789abcdef', ...extra }));

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
      { endpoint: 'all', retry: { attempts: 20, backoffMs: 5000 }, body: `${ENVELOPE_PREFIX}{"orderId":"o-1","status":"shipped","total":30}}` },
      { endpoint: 'orders', retry: { attempts: 3, backoffMs: 100 }, body: `${ENVELOPE_PREFIX}{"orderId":"o-1","status":"shipped","total":30}}` },
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
    expect(plan.failures).toEqual([
      { endpoint: 'bad-filter', reason: 'endpoint "bad-filter": filter failed: filter broke' },
      { endpoint: 'empty-transform', reason: 'endpoint "empty-transform": transform failed: transform produced nothing' },
      { endpoint: 'bad-transform', reason: 'endpoint "bad-transform": transform failed: transform broke' },
    ]);
  });

  it('plans nothing (and no failure) for an event no endpoint subscribes to', async () => {
    const plan = await planFanout(event('user.created'), [ep('orders', { events: ['order.*'] })]);
    expect(plan).toEqual({ deliveries: [], failures: [] });
  });
});
