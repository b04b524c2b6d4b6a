import { describe, expect, it } from 'vitest';
import { globToRegExp, matchesAny } from '../src/tenants/glob.js';
import { compileEndpoint } from '../src/tenants/compile.js';
import { parseEndpoint } from '../src/tenants/schema.js';

describe('event type globs', () => {
  it('"order.*" matches order.* at any depth but not orders.* or order', () => {
    expect(matchesAny('order.created', ['order.*'])).toBe(true);
    expect(matchesAny('order.item.added', ['order.*'])).toBe(true);
    expect(matchesAny('orders.x', ['order.*'])).toBe(false);
    expect(matchesAny('order', ['order.*'])).toBe(false);
    expect(matchesAny('xorder.created', ['order.*'])).toBe(false);
  });

  it('"*" matches every type; a pattern without "*" matches only itself', () => {
    for (const t of ['a', 'order.item.added', 'x/y:z']) expect(matchesAny(t, ['*'])).toBe(true);
    expect(matchesAny('invoice.paid', ['invoice.paid'])).toBe(true);
    expect(matchesAny('invoice.paidx', ['invoice.paid'])).toBe(false);
    expect(matchesAny('invoiceXpaid', ['invoice.paid'])).toBe(false); // "." is literal
  });

  it('supports "*" in the middle and several patterns', () => {
    expect(matchesAny('order.item.added', ['*.added'])).toBe(true);
    expect(matchesAny('order.item.added', ['order.*.added'])).toBe(true);
    expect(matchesAny('order.added', ['order.*.added'])).toBe(false);
    expect(matchesAny('invoice.paid', ['order.*', 'invoice.paid'])).toBe(true);
    expect(matchesAny('invoice.sent', ['order.*', 'invoice.paid'])).toBe(false);
    expect(matchesAny('anything', [])).toBe(false);
  });

  it('treats regex characters literally', () => {
    expect(globToRegExp('a+b(c)').test('a+b(c)')).toBe(true);
    expect(globToRegExp('a+b(c)').test('aab(c)')).toBe(false);
  });

  it('is what a compiled endpoint subscribes with', () => {
    const ep = compileEndpoint(
      parseEndpoint({
        id: 'e',
        url: 'https://x.example/',
        secret: '0123456789abcdef',
        events: ['order.*', 'invoice.paid'],
      }),
    );
    expect(
      ['order.created', 'order.item.added', 'invoice.paid', 'orders.x', 'invoice.sent'].filter((t) => ep.subscribes(t)),
    ).toEqual(['order.created', 'order.item.added', 'invoice.paid']);
    const all = compileEndpoint(parseEndpoint({ id: 'e', url: 'https://x.example/', secret: '0123456789abcdef' }));
    expect(all.subscribes('whatever.it.is')).toBe(true);
  });
});
