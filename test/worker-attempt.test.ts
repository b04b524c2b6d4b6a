// The worker's pure pieces: backoff wiring, per-endpoint slots, attempt headers and log lines.
import { describe, expect, it } from 'vitest';
import { DeliveryError } from '../src/lib/errors.js';
import { parseEndpoint } from '../src/tenants/schema.js';
import { attemptHeaders } from '../src/workers/deliver.js';
import { prepareSigner, signatureHeaders } from '../src/signing/signer.js';
import { EndpointSlots, type SlotOptions } from '../src/workers/endpoint-slots.js';
import { attemptLogLine } from '../src/workers/settle-attempt.js';
import { wssBackoffStrategy } from '../src/workers/worker.js';
import { pythonSignature } from './helpers/worker-context.js';

describe('wssBackoffStrategy', () => {
  const strategy = wssBackoffStrategy(10_000, () => 0);
  const job = (delay: number) => ({ opts: { backoff: { type: 'wss', delay } } });

  it('doubles the job’s own base delay and caps at maxMs', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => strategy(n, 'wss', new Error('x'), job(1_000)))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);
  });

  it('honours retryAfterMs carried by a DeliveryError, not by other errors', () => {
    const err = new DeliveryError('HTTP_STATUS', 'HTTP 429', { outcome: 'retry', status: 429, retryAfterMs: 2_000 });
    expect(strategy(1, 'wss', err, job(10))).toBe(2_000);
    expect(strategy(1, 'wss', Object.assign(new Error('x'), { retryAfterMs: 2_000 }), job(10))).toBe(10);
  });

  it('accepts a numeric backoff and falls back to 1 s without one', () => {
    expect(strategy(2, 'wss', undefined, { opts: { backoff: 300 } })).toBe(600);
    expect(strategy(1, 'wss', undefined, { opts: {} })).toBe(1_000);
  });

  it('applies jitter from the random source', () => {
    expect(wssBackoffStrategy(10_000, () => 0.5)(1, 'wss', undefined, job(1_000))).toBe(900);
  });
});

describe('EndpointSlots', () => {
  // A hand-driven clock: the slots see only the time the test sets.
  const make = (cap: number, over: Partial<SlotOptions> = {}) => {
    const clock = { t: 1_000 };
    const slots = new EndpointSlots({
      cap,
      maxWaitMs: 250,
      minDeferMs: 200,
      maxDeferMs: 120_000,
      now: () => clock.t,
      random: () => 0,
      ...over,
    });
    return { slots, clock };
  };

  it('caps in-flight per endpoint and frees on release', () => {
    const { slots } = make(2);
    expect(slots.acquire('a/x')).toBe(true);
    expect(slots.acquire('a/x')).toBe(true);
    expect(slots.acquire('a/y')).toBe(true);
    expect(slots.count('a/x')).toBe(2);
    slots.release('a/x', 0);
    expect(slots.count('a/x')).toBe(1);
    slots.release('a/x', 0);
    slots.release('a/x', 0);
    expect(slots.count('a/x')).toBe(0);
  });

  it('lets a job over the cap of a fast endpoint wait in-process for the next free slot', async () => {
    const { slots } = make(1);
    expect(slots.acquire('a/x')).toBe(true);
    slots.release('a/x', 2); // service time 2 ms
    expect(slots.acquire('a/x')).toBe(true);
    const waiting = slots.acquire('a/x');
    expect(waiting).toBeInstanceOf(Promise);
    slots.release('a/x', 2);
    expect(await waiting).toBe(true);
    expect(slots.count('a/x')).toBe(1);
  });

  it('defers jobs of a slow endpoint along a line spaced by service time / cap, up to the horizon', () => {
    const { slots, clock } = make(2, { maxDeferMs: 10_000 });
    expect(slots.acquire('a/slow')).toBe(true);
    expect(slots.acquire('a/slow')).toBe(true);
    clock.t += 4_000; // both requests in flight for 4 s: service time ≥ 4 s, spacing 2 s
    expect(slots.acquire('a/slow')).toBe(2_000);
    expect(slots.acquire('a/slow')).toBe(4_000);
    expect(slots.acquire('a/slow')).toBe(6_000);
    expect(slots.acquire('a/slow')).toBe(8_000);
    expect(slots.acquire('a/slow')).toBe(10_000);
    expect(slots.acquire('a/slow')).toBe(10_000);
    // Another endpoint is not affected.
    expect(slots.acquire('b/fast')).toBe(true);
  });

  it('never defers for less than minDeferMs and adds at most 10 % jitter', () => {
    const { slots, clock } = make(1, { random: () => 0.999 });
    expect(slots.acquire('a/x')).toBe(true);
    clock.t += 300; // in flight 300 ms: a wait of 300 ms > maxWaitMs
    const d = slots.acquire('a/x') as number;
    expect(d).toBeGreaterThanOrEqual(300);
    expect(d).toBeLessThanOrEqual(330);
  });
});

describe('attemptHeaders', () => {
  it('signs timestamp + body with the secret and lets no endpoint header replace ours', () => {
    const ep = parseEndpoint({
      id: 'orders',
      url: 'https://example.com/h',
      secret: 'sekrit-0123456789abc',
      headers: { 'X-Source': 'bus' },
    });
    const data = {
      eventId: 'evt_1',
      tenant: 'acme',
      endpoint: 'orders',
      type: 'order.paid',
      createdAt: 0,
      body: '{"a":"ü"}',
    };
    const signed = signatureHeaders(
      prepareSigner(ep, () => undefined, 'acme'),
      data.eventId,
      data.body,
      1_700_000_000_999,
    );
    const h = attemptHeaders(ep, data, signed, 3, 'webhook-sender/1.2.3');
    expect(h).toEqual({
      'X-Source': 'bus',
      'Content-Type': 'application/json',
      'User-Agent': 'webhook-sender/1.2.3',
      'X-WSS-Timestamp': '1700000000',
      'X-WSS-Signature': pythonSignature('sekrit-0123456789abc', '1700000000', '{"a":"ü"}'),
      'X-WSS-Event-Id': 'evt_1',
      'X-WSS-Event-Type': 'order.paid',
      'X-WSS-Attempt': '3',
    });
    // A replayed job says so; the signature does not change (it covers timestamp and body only).
    const replayed = attemptHeaders(ep, { ...data, replay: true }, signed, 1, 'webhook-sender/1.2.3');
    expect(replayed['X-WSS-Replay']).toBe('true');
    expect(replayed['X-WSS-Signature']).toBe(h['X-WSS-Signature']);
    expect(h['X-WSS-Replay']).toBeUndefined();
  });
});

describe('attemptLogLine', () => {
  it('is one line with attempt, outcome, status, ms, reason and a JSON-quoted snippet of at most 1 KB', () => {
    const err = new DeliveryError('HTTP_STATUS', 'HTTP 500', {
      outcome: 'retry',
      status: 500,
      snippet: `line1\nline2 ${'y'.repeat(2_000)}`,
    });
    const line = attemptLogLine(2, 'retry', 37, err);
    expect(
      line.startsWith('attempt 2: retry · HTTP 500 · 37 ms · HTTP_STATUS: HTTP 500 · response: "line1\\nline2 '),
    ).toBe(true);
    expect(line).not.toContain('\n');
    expect((JSON.parse(line.slice(line.indexOf('response: ') + 10)) as string).length).toBe(1_024);
    expect(attemptLogLine(1, 'failed', 3, new DeliveryError('URL_REFUSED', 'refused: x', { outcome: 'failed' }))).toBe(
      'attempt 1: failed · no response · 3 ms · URL_REFUSED: refused: x',
    );
  });
});
