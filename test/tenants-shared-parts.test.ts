// A registry snapshot shares identical endpoint parts and subscription matchers; values and
// matching stay exactly what each endpoint stored.
import { describe, expect, it } from 'vitest';
import { compileEndpoint } from '../src/tenants/compile.js';
import { parseEndpoint } from '../src/tenants/schema.js';
import { SharedParts } from '../src/tenants/shared-parts.js';

const ep = (id: string, extra: Record<string, unknown> = {}) =>
  parseEndpoint({ id, url: `https://hooks.example/${id}`, secret: '0123456789abcdef', ...extra });

describe('shared endpoint parts', () => {
  it('shares equal events, headers and retry between endpoints, not different ones', () => {
    const shared = new SharedParts();
    const a = compileEndpoint(ep('a', { events: ['order.*'], retry: { attempts: 3, backoffMs: 100 } }), shared);
    const b = compileEndpoint(ep('b', { events: ['order.*'], retry: { attempts: 3, backoffMs: 100 } }), shared);
    const c = compileEndpoint(ep('c', { events: ['user.*'], headers: { 'x-team': 'c' } }), shared);
    expect(b.config.events).toBe(a.config.events);
    expect(b.config.retry).toBe(a.config.retry);
    expect(b.config.headers).toBe(a.config.headers);
    expect(b.subscribes).toBe(a.subscribes);
    expect(c.config.events).not.toBe(a.config.events);
    expect(c.config.headers).toEqual({ 'x-team': 'c' });
    expect(c.config.retry).not.toBe(a.config.retry);
    expect([a.subscribes('order.paid'), a.subscribes('user.created')]).toEqual([true, false]);
    expect([c.subscribes('order.paid'), c.subscribes('user.created')]).toEqual([false, true]);
    expect(b.config.id).toBe('b');
    expect(b.config.url).toBe('https://hooks.example/b');
  });

  it('compiles the same with or without sharing', () => {
    const plain = compileEndpoint(ep('x', { events: ['a.*', 'b'], filter: 'data.n > 1' }));
    const viaShared = compileEndpoint(ep('x', { events: ['a.*', 'b'], filter: 'data.n > 1' }), new SharedParts());
    expect(viaShared.config).toEqual(plain.config);
    expect(viaShared.filter).toBe('data.n > 1');
    for (const type of ['a.one', 'b', 'b.c', 'c']) expect(viaShared.subscribes(type)).toBe(plain.subscribes(type));
  });
});
