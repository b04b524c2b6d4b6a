// The breaker's counting: N failures in a row break an endpoint, a success ends the run, new
// expressions start afresh, failures are counted by kind, and the mark is stored once.
import { describe, expect, it } from 'vitest';
import { expressionFailures } from '../src/lib/metrics.js';
import { compileEndpoint } from '../src/tenants/compile.js';
import { ExpressionBreaker } from '../src/expressions/breaker.js';
import type { ExprOutcome } from '../src/expressions/pool.js';
import { parseEndpoint } from '../src/tenants/schema.js';

const ep = (filter: string) =>
  compileEndpoint(parseEndpoint({ id: 'hook', url: 'https://x.example/h', secret: '0123456789abcdef', filter }));
const fail = (kind: 'timeout' | 'error' = 'timeout'): ExprOutcome => ({
  status: 'failed',
  stage: 'filter',
  failure: { kind, code: kind === 'timeout' ? 'D1012' : 'D3137', position: 3 },
});
const ok: ExprOutcome = { status: 'pass' };

function breaker() {
  const stored: Array<[string, string, string, string]> = [];
  const b = new ExpressionBreaker({
    breakAfter: 3,
    now: () => Date.UTC(2026, 0, 2),
    persist: async (t, e, broken) => void stored.push([t, e, broken.reason, broken.since]),
  });
  return { b, stored };
}

async function count(tenant: string, kind: string): Promise<number> {
  const m = await expressionFailures.get();
  return (
    m.values.find((v) => v.labels.tenant === tenant && v.labels.endpoint === 'hook' && v.labels.kind === kind)?.value ??
    0
  );
}

describe('ExpressionBreaker', () => {
  it('breaks after N failures in a row, and stores the mark once', async () => {
    const { b, stored } = breaker();
    const e = ep('x');
    expect(b.budget('t1', e)).toBe(3);
    b.record('t1', e, fail());
    b.record('t1', e, fail('error'));
    expect(b.broken('t1', e)).toBeUndefined();
    expect(b.budget('t1', e)).toBe(1);
    b.record('t1', e, fail());
    expect(b.broken('t1', e)).toBe(
      '3 expression failures in a row; last: filter timeout: ran past the time limit (D1012 at position 3)',
    );
    expect(b.budget('t1', e)).toBe(0);
    await b.flush();
    await b.flush();
    expect(stored).toEqual([
      [
        't1',
        'hook',
        '3 expression failures in a row; last: filter timeout: ran past the time limit (D1012 at position 3)',
        '2026-01-02T00:00:00.000Z',
      ],
    ]);
    expect(await count('t1', 'timeout')).toBe(2);
    expect(await count('t1', 'error')).toBe(1);
  });

  it('a success ends the run; skipped outcomes do not count', async () => {
    const { b, stored } = breaker();
    const e = ep('x');
    for (const o of [fail(), fail(), ok, fail(), { status: 'skipped' } as ExprOutcome, fail()]) b.record('t2', e, o);
    expect(b.broken('t2', e)).toBeUndefined();
    await b.flush();
    expect(stored).toEqual([]);
  });

  it('new expressions for the endpoint start a fresh run', () => {
    const { b } = breaker();
    for (let i = 0; i < 3; i++) b.record('t3', ep('old'), fail());
    expect(b.broken('t3', ep('old'))).toBeDefined();
    expect(b.broken('t3', ep('new'))).toBeUndefined();
    expect(b.budget('t3', ep('new'))).toBe(3);
  });

  it('keeps the mark in memory and retries when storing it fails', async () => {
    let attempts = 0;
    const b = new ExpressionBreaker({
      breakAfter: 1,
      now: Date.now,
      persist: async () => {
        if (++attempts === 1) throw new Error('redis down');
      },
    });
    const e = ep('x');
    b.record('t4', e, fail());
    await b.flush();
    expect(b.broken('t4', e)).toBeDefined();
    await b.flush();
    expect(attempts).toBe(2);
    expect(b.broken('t4', e)).toBeUndefined(); // stored: the registry's copy speaks now
  });
});
