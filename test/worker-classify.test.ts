import { describe, expect, it } from 'vitest';
import { classifyStatus } from '../src/workers/classify-response.js';

const now = Date.parse('2030-01-01T00:00:00Z');
const verdict = (status: number, retryAfter?: string) => classifyStatus({ status, retryAfter, nowMs: now, retryAfterMaxMs: 3_600_000 });

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
    [410, 'disable'],
    [400, 'give-up'],
    [401, 'give-up'],
    [403, 'give-up'],
    [404, 'give-up'],
    [409, 'give-up'],
    [413, 'give-up'],
    [422, 'give-up'],
    [301, 'give-up'],
    [302, 'give-up'],
    [304, 'give-up'],
    [307, 'give-up'],
    [308, 'give-up'],
    [100, 'give-up'],
  ] as const)('HTTP %i → %s', (status, kind) => {
    expect(verdict(status).kind).toBe(kind);
  });

  it('names the status in the reason and says redirects are not followed', () => {
    expect(verdict(400)).toEqual({ kind: 'give-up', reason: 'HTTP 400' });
    expect(verdict(302)).toEqual({ kind: 'give-up', reason: 'HTTP 302: redirects are not followed' });
    expect(verdict(500)).toEqual({ kind: 'retry', reason: 'HTTP 500' });
  });

  it('honours Retry-After on 429 and 503 only', () => {
    expect(verdict(429, '2')).toEqual({ kind: 'retry', reason: 'HTTP 429', retryAfterMs: 2_000 });
    expect(verdict(503, 'Tue, 01 Jan 2030 00:00:30 GMT')).toEqual({ kind: 'retry', reason: 'HTTP 503', retryAfterMs: 30_000 });
    expect(verdict(500, '2')).toEqual({ kind: 'retry', reason: 'HTTP 500' });
    expect(verdict(429, 'soon')).toEqual({ kind: 'retry', reason: 'HTTP 429' });
  });

  it('caps Retry-After', () => {
    const v = classifyStatus({ status: 429, retryAfter: '86400', nowMs: now, retryAfterMaxMs: 60_000 });
    expect(v).toEqual({ kind: 'retry', reason: 'HTTP 429', retryAfterMs: 60_000 });
  });
});
