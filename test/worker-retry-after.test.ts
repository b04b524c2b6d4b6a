import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../src/workers/retry-after.js';

const now = Date.parse('2030-01-01T00:00:00Z');
const MAX = 3_600_000;

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['2', 2_000],
    [' 120 ', 120_000],
    ['3600', 3_600_000],
    ['999999', MAX], // capped
  ])('delta-seconds %j → %i ms', (value, ms) => {
    expect(parseRetryAfter(value, now, MAX)).toBe(ms);
  });

  it.each([
    ['Tue, 01 Jan 2030 00:00:30 GMT', 30_000], // IMF-fixdate
    ['Tuesday, 01-Jan-30 00:01:00 GMT', 60_000], // obsolete RFC 850 form
    ['Mon, 31 Dec 2029 23:59:00 GMT', 0], // in the past: retry now
    ['Wed, 01 Jan 2031 00:00:00 GMT', MAX], // capped
  ])('HTTP-date %j → %i ms', (value, ms) => {
    expect(parseRetryAfter(value, now, MAX)).toBe(ms);
  });

  it.each([undefined, '', '   ', 'soon', '-5', '1.5', 'NaN'])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now, MAX)).toBeUndefined();
  });
});
