import { describe, expect, it } from 'vitest';
import { classifyStatus } from '../src/workers/classify-response.js';

const now = Date.parse('2030-01-01T00:00:00Z');
const verdict = (status: number, retryAfter?: string) =>
  classifyStatus({ status, retryAfter, nowMs: now, retryAfterMaxMs: 3_600_000 });

describe('classifyStatus', () => {
  it.each([
    [200, 'delivered'],
    [201, 'delivered'],
    [202, 'delivered'],
    [204, 'delivered'],
    [299, 'delivered'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [599, 'retry'],
    [410, 'disabled'],
    [400, 'failed'],
    [401, 'failed'],
    [403, 'failed'],
    [404, 'failed'],
    [409, 'failed'],
    [413, 'failed'],
    [422, 'failed'],
    [301, 'failed'],
    [302, 'failed'],
    [304, 'failed'],
    [307, 'failed'],
    [308, 'failed'],
    [100, 'failed'],
  ] as const)('HTTP %i → %s', (status, outcome) => {
    expect(verdict(status).outcome).toBe(outcome);
  });

  it('names the status in the reason and says redirects are not followed', () => {
    expect(verdict(400)).toEqual({ outcome: 'failed', reason: 'HTTP 400' });
    expect(verdict(302)).toEqual({ outcome: 'failed', reason: 'HTTP 302: redirects are not followed' });
    expect(verdict(500)).toEqual({ outcome: 'retry', reason: 'HTTP 500' });
  });

  it('honours Retry-After on 429 and 503 only', () => {
    expect(verdict(429, '2')).toEqual({ outcome: 'retry', reason: 'HTTP 429', retryAfterMs: 2_000 });
    expect(verdict(503, 'Tue, 01 Jan 2030 00:00:30 GMT')).toEqual({
      outcome: 'retry',
      reason: 'HTTP 503',
      retryAfterMs: 30_000,
    });
    expect(verdict(500, '2')).toEqual({ outcome: 'retry', reason: 'HTTP 500' });
    expect(verdict(429, 'soon')).toEqual({ outcome: 'retry', reason: 'HTTP 429' });
  });

  it('caps Retry-After', () => {
    const v = classifyStatus({ status: 429, retryAfter: '86400', nowMs: now, retryAfterMaxMs: 60_000 });
    expect(v).toEqual({ outcome: 'retry', reason: 'HTTP 429', retryAfterMs: 60_000 });
  });
});
