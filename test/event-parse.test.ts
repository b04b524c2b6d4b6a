import { describe, expect, it } from 'vitest';
import { entryTimeMs, envelopeBody, fieldsToRecord, parseEntry, type WssEvent } from '../src/queue/event.js';

const ENTRY = '1700000000000-0'; // 2023-11-14T22:13:20.000Z

function ok(fields: Record<string, string>, entryId = ENTRY): WssEvent {
  const r = parseEntry(entryId, fields);
  if (!r.ok) throw new Error(`expected ok, got: ${r.reason}`);
  return r.event;
}

function reason(fields: Record<string, string>): string {
  const r = parseEntry(ENTRY, fields);
  if (r.ok) throw new Error('expected a refusal');
  return r.reason;
}

describe('parseEntry', () => {
  it('parses a complete entry', () => {
    expect(ok({ tenant: 'acme', type: 'order.updated', data: '{"orderId":"o-1"}', id: 'evt_1' })).toEqual({
      id: 'evt_1',
      tenant: 'acme',
      type: 'order.updated',
      dataText: '{"orderId":"o-1"}',
      data: { orderId: 'o-1' },
      createdAt: '2023-11-14T22:13:20.000Z',
      createdAtMs: 1_700_000_000_000,
      priority: 'normal',
    });
  });

  it('reads the priority field: high, normal or low, default normal', () => {
    expect(ok({ tenant: 'acme', type: 't', data: '1', priority: 'high' }).priority).toBe('high');
    expect(ok({ tenant: 'acme', type: 't', data: '1', priority: 'low' }).priority).toBe('low');
    expect(ok({ tenant: 'acme', type: 't', data: '1', priority: 'normal' }).priority).toBe('normal');
    expect(ok({ tenant: 'acme', type: 't', data: '1' }).priority).toBe('normal');
    for (const bad of ['HIGH', 'urgent', '', '1'])
      expect(reason({ tenant: 'acme', type: 't', data: '1', priority: bad })).toBe(
        'field "priority" must be "high", "normal" or "low"',
      );
  });

  it('uses the stream entry id when the producer gives no id', () => {
    expect(ok({ tenant: 'acme', type: 't', data: '1' }, '1700000000123-7').id).toBe('1700000000123-7');
    expect(ok({ tenant: 'acme', type: 't', data: '1' }, '1700000000123-7').createdAt).toBe('2023-11-14T22:13:20.123Z');
  });

  it('accepts any JSON value as data and ignores extra fields', () => {
    expect(ok({ tenant: 'acme', type: 't', data: 'null' }).data).toBeNull();
    expect(ok({ tenant: 'acme', type: 't', data: '"s"' }).data).toBe('s');
    expect(ok({ tenant: 'acme', type: 't', data: '[1,2]', extra: 'x' }).data).toEqual([1, 2]);
  });

  it('refuses entries with a missing or invalid field, saying which', () => {
    expect(reason({ type: 't', data: '{}' })).toBe('missing field "tenant"');
    expect(reason({ tenant: '', type: 't', data: '{}' })).toBe('missing field "tenant"');
    expect(reason({ tenant: 'Acme', type: 't', data: '{}' })).toBe('field "tenant" is not a valid tenant id');
    expect(reason({ tenant: 'acme', data: '{}' })).toBe('missing field "type"');
    expect(reason({ tenant: 'acme', type: 'a b', data: '{}' })).toMatch(/^field "type" must be/);
    expect(reason({ tenant: 'acme', type: 't' })).toBe('missing field "data"');
    expect(reason({ tenant: 'acme', type: 't', data: '' })).toBe('field "data" is not JSON (unexpected end)');
    expect(reason({ tenant: 'acme', type: 't', data: '{"a":1' })).toBe(
      'field "data" is not JSON (error at position 6)',
    );
    expect(reason({ tenant: 'acme', type: 't', data: '{}', id: 'a:b' })).toMatch(/^field "id" must be/);
    expect(reason({ tenant: 'acme', type: 't', data: '{}', id: '' })).toMatch(/^field "id" must be/);
    expect(reason({ tenant: 'acme', type: 't', data: '{}', id: 'x'.repeat(201) })).toMatch(/^field "id" must be/);
  });

  it('never quotes the data in the reason (reasons are logged)', () => {
    expect(reason({ tenant: 'acme', type: 't', data: 'secret-token-abc not json' })).not.toContain('secret-token');
    expect(reason({ tenant: 'acme', type: 't', data: '{"k": secretvalue}' })).not.toContain('secretvalue');
  });
});

describe('envelopeBody', () => {
  it("matches the known-answer string, keeping the producer's data bytes", () => {
    const e = ok({ tenant: 'acme', type: 'order.updated', data: ' {"orderId":"o-1",  "n": 1.50}\n', id: 'evt_1' });
    expect(envelopeBody(e)).toBe(
      '{"id":"evt_1","type":"order.updated","tenant":"acme","createdAt":"2023-11-14T22:13:20.000Z","data":{"orderId":"o-1",  "n": 1.50}}',
    );
    expect(JSON.parse(envelopeBody(e))).toEqual({
      id: e.id,
      type: e.type,
      tenant: e.tenant,
      createdAt: e.createdAt,
      data: { orderId: 'o-1', n: 1.5 },
    });
  });

  it('escapes what needs escaping in the string fields', () => {
    const e = ok({ tenant: 'acme', type: 'a/b:c', data: '"x\\"y"' }, '0-1');
    expect(envelopeBody(e)).toBe(
      '{"id":"0-1","type":"a/b:c","tenant":"acme","createdAt":"1970-01-01T00:00:00.000Z","data":"x\\"y"}',
    );
  });
});

describe('helpers', () => {
  it('fieldsToRecord pairs a flat list, last value wins', () => {
    expect(fieldsToRecord(['a', '1', 'b', '2', 'a', '3'])).toEqual({ a: '3', b: '2' });
    expect(fieldsToRecord(['odd'])).toEqual({});
  });
  it('entryTimeMs reads the millisecond part', () => {
    expect(entryTimeMs('1700000000000-5')).toBe(1_700_000_000_000);
    expect(entryTimeMs('garbage')).toBe(0);
  });
});
