// once(): the memoised stop() every role uses.
import { describe, expect, it } from 'vitest';
import { once } from '../src/lib/once.js';

describe('once', () => {
  it('runs on the first call only; every caller gets that call’s result', async () => {
    let runs = 0;
    const stop = once(async (graceMs: number) => {
      runs++;
      await new Promise((r) => setTimeout(r, 10));
      return graceMs;
    });
    const [a, b] = [stop(5), stop(7)];
    expect(a).toBe(b);
    expect(await a).toBe(5);
    expect(await stop(9)).toBe(5);
    expect(runs).toBe(1);
  });

  it('remembers a rejection as well', async () => {
    let runs = 0;
    const stop = once(() => {
      runs++;
      return Promise.reject(new Error('no'));
    });
    await expect(stop()).rejects.toThrow('no');
    await expect(stop()).rejects.toThrow('no');
    expect(runs).toBe(1);
  });
});
