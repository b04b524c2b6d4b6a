import { describe, expect, it } from 'vitest';
import { computeBackoff, JITTER } from '../src/workers/backoff.js';

const base = { baseMs: 1_000, maxMs: 60_000 };

describe('computeBackoff', () => {
  it.each([
    // attemptsMade, random, expected
    [1, 0, 1_000],
    [2, 0, 2_000],
    [3, 0, 4_000],
    [4, 0, 8_000],
    [6, 0, 32_000],
    [7, 0, 60_000], // 64 s capped at 60 s
    [50, 0, 60_000], // exponent clamped, no overflow
    [1, 0.5, 900], // 10 % off
    [3, 0.999999, 3_200], // just under 20 % off
    [7, 0.5, 54_000], // jitter applies to the capped value
  ])('attempt %i with random %f → %i ms', (attemptsMade, random, expected) => {
    expect(computeBackoff({ ...base, attemptsMade, random })).toBe(expected);
  });

  it('treats attemptsMade 0 like the first retry', () => {
    expect(computeBackoff({ ...base, attemptsMade: 0, random: 0 })).toBe(1_000);
  });

  it('never waits less than Retry-After, never shortens a longer backoff to it', () => {
    expect(computeBackoff({ ...base, attemptsMade: 1, random: 0, retryAfterMs: 2_000 })).toBe(2_000);
    expect(computeBackoff({ ...base, attemptsMade: 4, random: 0, retryAfterMs: 2_000 })).toBe(8_000);
    // Retry-After may exceed maxMs (it is capped separately by WSS_RETRY_AFTER_MAX_MS).
    expect(computeBackoff({ ...base, attemptsMade: 1, random: 0, retryAfterMs: 120_000 })).toBe(120_000);
    expect(computeBackoff({ ...base, attemptsMade: 1, random: 0, retryAfterMs: 0 })).toBe(1_000);
  });

  it('keeps gaps growing despite jitter: the lowest next gap beats the highest current one', () => {
    expect(JITTER).toBeLessThan(0.5);
    for (let n = 1; n < 6; n++) {
      const highest = computeBackoff({ ...base, attemptsMade: n, random: 0 });
      const lowestNext = computeBackoff({ ...base, attemptsMade: n + 1, random: 0.999999 });
      expect(lowestNext).toBeGreaterThan(highest);
    }
  });
});
