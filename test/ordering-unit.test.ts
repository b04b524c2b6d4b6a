// Ordering keys, the pure part (src/queue/ordering.ts): positions sort like the source, the
// watermark's bounds, key validation and bounded key names, the envelope field.
import { describe, expect, it } from 'vitest';
import { parseEntry } from '../src/queue/event.js';
import {
  MAX_ORDERING_KEY_BYTES,
  orderingId,
  orderingKeyProblem,
  orderPosition,
  WATERMARK_ALL,
  watermarkAfter,
  watermarkAt,
} from '../src/queue/ordering.js';
import { deliveryJob } from '../src/queue/job.js';
import { bodyFields } from '../src/producers/sources/amqp/envelope.js';
import { natsFields } from '../src/producers/sources/nats/envelope.js';
import { attemptHeaders } from '../src/workers/deliver.js';
import { parseEndpoint } from '../src/tenants/schema.js';
import { prepareSigner, signatureHeaders } from '../src/signing/signer.js';

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('positions', () => {
  it('sort stream ids, numeric sequences in source order, fixed width, digits only', () => {
    const ids = [
      '1765000000000-0',
      '1765000000000-9',
      '1765000000000-10',
      '1765000000001-0',
      '99-5',
      '1765000000000-18446744073709551615',
    ];
    const source = [...ids].sort((a, b) => {
      const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
      const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
      return am === bm ? (as < bs ? -1 : as > bs ? 1 : 0) : am < bm ? -1 : 1;
    });
    const positions = source.map((id) => orderPosition(id, 0, 'e'));
    expect([...positions].sort(byBytes)).toEqual(positions);
    for (const p of positions) expect(p).toMatch(/^\d{35}$/);
    const seqs = ['1', '9', '10', '12345678901234567890'].map((s) => orderPosition(s, 0, 'e'));
    expect([...seqs].sort(byBytes)).toEqual(seqs);
    expect(orderPosition('amqp-tag-3', 1765000000000, 'evt')).toBe('001765000000000evt');
  });

  it('the watermark: below it every entry up to last-delivered, or strictly before the oldest pending', () => {
    const last = '1765000000000-7';
    expect(byBytes(orderPosition(last, 0, ''), watermarkAfter(last))).toBeLessThan(0);
    expect(byBytes(orderPosition('1765000000000-8', 0, ''), watermarkAfter(last))).toBe(0);
    expect(byBytes(orderPosition('1765000000000-6', 0, ''), watermarkAt(last))).toBeLessThan(0);
    expect(byBytes(orderPosition(last, 0, ''), watermarkAt(last))).toBe(0);
    expect(byBytes(orderPosition('99999999999999-99', 0, ''), WATERMARK_ALL)).toBeLessThan(0);
    // Carry across the seq digits.
    expect(watermarkAfter('5-99999999999999999999')).toBe(orderPosition('6-0', 0, ''));
  });
});

describe('keys', () => {
  it('accepts 1..256 bytes without control characters', () => {
    expect(orderingKeyProblem('order-1')).toBeUndefined();
    expect(orderingKeyProblem('ä'.repeat(128))).toBeUndefined();
    expect(orderingKeyProblem('ä'.repeat(129))).toMatch(/256 bytes/);
    expect(orderingKeyProblem('x'.repeat(MAX_ORDERING_KEY_BYTES + 1))).toMatch(/256 bytes/);
    expect(orderingKeyProblem('')).toMatch(/empty/);
    expect(orderingKeyProblem('a\nb')).toMatch(/control/);
  });

  it('names Redis keys by a fixed-length hex id, distinct per tenant, endpoint and key', () => {
    const a = orderingId('acme', 'hook', 'k'.repeat(256));
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(
      new Set([a, orderingId('acme', 'hook', 'k'), orderingId('acme', 'hook2', 'k'), orderingId('acm', 'ehook', 'k')])
        .size,
    ).toBe(4);
  });

  it('the envelope field is validated like the others', () => {
    const base = { tenant: 'acme', type: 't', data: '{}' };
    const ok = parseEntry('1-0', { ...base, orderingKey: 'acct-7' });
    expect(ok.ok && ok.event.orderingKey).toBe('acct-7');
    const none = parseEntry('1-0', base);
    expect(none.ok && none.event.orderingKey).toBeUndefined();
    const bad = parseEntry('1-0', { ...base, orderingKey: 'x'.repeat(300) });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/orderingKey/);
  });

  it('AMQP and NATS bodies carry the key as a string field, validated the same way', () => {
    const body = '{"tenant":"acme","type":"t","data":{},"orderingKey":"acct-7"}';
    const amqp = bodyFields(Buffer.from(body));
    expect(amqp.ok && amqp.fields['orderingKey']).toBe('acct-7');
    expect(natsFields(body, undefined, 10_000).fields['orderingKey']).toBe('acct-7');
    const numeric = '{"tenant":"acme","type":"t","data":{},"orderingKey":7}';
    expect(bodyFields(Buffer.from(numeric)).ok).toBe(false);
    expect(natsFields(numeric, undefined, 10_000).malformed).toMatch(/orderingKey/);
  });

  it('an ordered job is added parked, an unordered one is not', () => {
    const ev = { id: 'e1', tenant: 'acme', type: 't', createdAtMs: 1 };
    const keep = { dedupTtlMs: 1000, keepCompleted: { count: 1, age: 1 } };
    const retry = { attempts: 3, backoffMs: 10 };
    const ordered = deliveryJob(ev, { endpoint: 'hook', body: '{}', retry, ordering: { key: 'k', pos: '1' } }, keep);
    expect(ordered.opts.delay).toBeGreaterThan(300 * 86_400_000);
    expect(ordered.data.ordering).toEqual({ key: 'k', pos: '1' });
    const plain = deliveryJob(ev, { endpoint: 'hook', body: '{}', retry }, keep);
    expect(plain.opts.delay).toBeUndefined();
    expect(plain.data.ordering).toBeUndefined();
  });

  it('headers: key (percent-encoded) and sequence, in either signature scheme', () => {
    const data = {
      eventId: 'e1',
      tenant: 'acme',
      endpoint: 'hook',
      type: 't',
      createdAt: 1,
      body: '{}',
      ordering: { key: 'acct 7/ä', pos: '1' },
    };
    for (const scheme of ['wss', 'standard-webhooks'] as const) {
      const secret =
        scheme === 'wss' ? 'plain-secret-0123456789' : `whsec_${Buffer.from('x'.repeat(32)).toString('base64')}`;
      const ep = parseEndpoint({ id: 'hook', url: 'https://example.com/h', secret, signature: { scheme } });
      const signed = signatureHeaders(
        prepareSigner(ep, () => undefined, 'acme'),
        'e1',
        '{}',
        1_000,
      );
      const h = attemptHeaders(ep, data, signed, 1, 'ua', false, 7);
      expect(h['X-WSS-Ordering-Key']).toBe('acct%207%2F%C3%A4');
      expect(decodeURIComponent(h['X-WSS-Ordering-Key']!)).toBe('acct 7/ä');
      expect(h['X-WSS-Sequence']).toBe('7');
    }
    const plain = attemptHeaders(
      parseEndpoint({ id: 'hook', url: 'https://example.com/h', secret: 'plain-secret-0123456789' }),
      { ...data, ordering: undefined },
      {},
      1,
      'ua',
    );
    expect(plain['X-WSS-Sequence']).toBeUndefined();
  });
});
