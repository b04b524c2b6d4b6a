// settleAttempt without Redis: what one failed attempt means for its job (outcome, log level)
// and what BullMQ gets thrown. A delivered (2xx) attempt returns its result and is not settled.
import { DelayedError, UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { DeliveryError } from '../src/lib/errors.js';
import { classifyStatus } from '../src/workers/classify-response.js';
import { settleAttempt } from '../src/workers/settle-attempt.js';
import { wssBackoffStrategy } from '../src/workers/worker.js';

const http500 = () => new DeliveryError('HTTP_STATUS', 'HTTP 500', { outcome: 'retry', status: 500, snippet: 'busy' });
const refused = () => new DeliveryError('URL_REFUSED', 'refused: 127.0.0.1 is loopback', { outcome: 'failed' });
const gone = () =>
  new DeliveryError('ENDPOINT_GONE', 'HTTP 410 Gone: endpoint disabled', {
    outcome: 'disabled',
    status: 410,
    snippet: '',
  });

describe('settleAttempt', () => {
  it('a retryable failure on a middle attempt: retry, logged at info, a DeliveryError BullMQ retries', () => {
    const s = settleAttempt(http500(), 2, 5);
    expect(s.outcome).toBe('retry');
    expect(s.level).toBe('info');
    expect(s.toThrow).toBeInstanceOf(DeliveryError);
    expect(s.toThrow).not.toBeInstanceOf(UnrecoverableError);
    // failedReason names the code; the stack is the one line the dashboard shows.
    expect(s.toThrow.message).toBe('HTTP_STATUS: HTTP 500');
    expect(s.toThrow.stack).toBe('DeliveryError: HTTP_STATUS: HTTP 500');
    const e = s.toThrow as DeliveryError;
    expect([e.code, e.outcome, e.status, e.snippet]).toEqual(['HTTP_STATUS', 'retry', 500, 'busy']);
  });

  it('a retryable failure on the last attempt: failed, at warn, still a DeliveryError (BullMQ has no attempts left)', () => {
    for (const [attempt, max] of [
      [5, 5],
      [1, 1],
      [6, 5],
    ] as const) {
      const s = settleAttempt(http500(), attempt, max);
      expect(s.outcome, `${attempt}/${max}`).toBe('failed');
      expect(s.level).toBe('warn');
      expect(s.toThrow).toBeInstanceOf(DeliveryError);
      expect(s.toThrow.message).toBe('HTTP_STATUS: HTTP 500');
    }
  });

  it.each([
    ['a failure that is not retried', 'failed', refused, 'URL_REFUSED: refused: 127.0.0.1 is loopback'],
    ['410 Gone', 'disabled', gone, 'ENDPOINT_GONE: HTTP 410 Gone: endpoint disabled'],
  ] as const)('%s: %s at once, at warn, an UnrecoverableError with a one-line stack', (_, outcome, make, message) => {
    const s = settleAttempt(make(), 1, 5);
    expect(s.outcome).toBe(outcome);
    expect(s.level).toBe('warn');
    expect(s.toThrow).toBeInstanceOf(UnrecoverableError);
    expect(s.toThrow.message).toBe(message);
    expect(s.toThrow.stack).toBe(`UnrecoverableError: ${message}`);
  });

  it('during shutdown a retryable failure is handed back (a DelayedError), even on the last attempt', () => {
    for (const attempt of [1, 5]) {
      const s = settleAttempt(http500(), attempt, 5, { shuttingDown: true });
      expect(s.outcome).toBe('handed-back');
      expect(s.level).toBe('warn');
      expect(s.toThrow).toBeInstanceOf(DelayedError);
      expect(s.toThrow.message).toBe('worker shutting down');
    }
  });

  it('during shutdown a failure that is not retried is settled as usual', () => {
    expect(settleAttempt(refused(), 1, 5, { shuttingDown: true }).outcome).toBe('failed');
    expect(settleAttempt(gone(), 1, 5, { shuttingDown: true }).outcome).toBe('disabled');
    expect(settleAttempt(http500(), 1, 5, { shuttingDown: false }).outcome).toBe('retry');
  });

  it('keeps Retry-After on what it throws, for the backoff strategy, and leaves the attempt’s error as it was', () => {
    const err = new DeliveryError('HTTP_STATUS', 'HTTP 429', { outcome: 'retry', status: 429, retryAfterMs: 7_000 });
    const s = settleAttempt(err, 1, 3);
    expect(wssBackoffStrategy(60_000, () => 0)(1, 'wss', s.toThrow, { opts: { backoff: { delay: 10 } } })).toBe(7_000);
    expect(err.message).toBe('HTTP 429');
  });

  it('speaks the same words as classifyStatus, from HTTP status to outcome', () => {
    const outcomeOf = (status: number, attempt: number, max: number) => {
      const v = classifyStatus({ status, nowMs: 0, retryAfterMaxMs: 60_000 });
      if (v.outcome === 'delivered') return v.outcome;
      return settleAttempt(new DeliveryError('HTTP_STATUS', v.reason, { outcome: v.outcome, status }), attempt, max)
        .outcome;
    };
    expect(outcomeOf(204, 1, 3)).toBe('delivered');
    expect(outcomeOf(503, 1, 3)).toBe('retry');
    expect(outcomeOf(503, 3, 3)).toBe('failed');
    expect(outcomeOf(404, 1, 3)).toBe('failed');
    expect(outcomeOf(410, 1, 3)).toBe('disabled');
  });
});
