// The circuit's pure parts: what counts as a failure, the cool-down schedule, the settings an
// endpoint gets, and how the disable reason names the duration.
import { describe, expect, it } from 'vitest';
import { DeliveryError } from '../src/lib/errors.js';
import { CIRCUIT_DEFAULTS, coolDownMs, MAX_COOL_DOWN_MS } from '../src/endpoints/circuit.js';
import { circuitOutcome, circuitSettings, spoken } from '../src/endpoints/guard.js';

const err = (code: ConstructorParameters<typeof DeliveryError>[0], status?: number) =>
  new DeliveryError(code, 'x', { outcome: 'retry', ...(status !== undefined ? { status } : {}) });

describe('circuit rules', () => {
  it('counts timeouts, connection errors, 5xx, 408 and 429 as failures; other answers as success', () => {
    expect(circuitOutcome(err('NETWORK'))).toBe('failure');
    expect(circuitOutcome(err('TIMEOUT'))).toBe('failure');
    for (const s of [500, 502, 503, 504, 408, 429]) expect(circuitOutcome(err('HTTP_STATUS', s))).toBe('failure');
    for (const s of [400, 401, 404, 422]) expect(circuitOutcome(err('HTTP_STATUS', s))).toBe('success');
    expect(circuitOutcome(undefined)).toBe('success');
    expect(circuitOutcome(err('ENDPOINT_GONE', 410))).toBe('success');
    // Not the receiver's doing: neither.
    expect(circuitOutcome(err('SECRET_UNAVAILABLE'))).toBe('none');
    expect(circuitOutcome(err('URL_REFUSED'))).toBe('none');
  });

  it('doubles the cool-down on each open in a row, up to 10 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => coolDownMs(10_000, n))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000,
    ]);
    expect(coolDownMs(10_000, 1_000)).toBe(MAX_COOL_DOWN_MS);
    // A first cool-down longer than the cap is kept, not cut.
    expect(coolDownMs(3_600_000, 3)).toBe(3_600_000);
  });

  it("takes the endpoint's circuit fields, else the defaults; the probe lease outlasts the request timeout", () => {
    expect(circuitSettings({ timeoutMs: 10_000, circuit: undefined })).toEqual({
      ...CIRCUIT_DEFAULTS,
      probeLeaseMs: 15_000,
    });
    expect(circuitSettings({ timeoutMs: 2_000, circuit: { failures: 2 } })).toEqual({
      failures: 2,
      coolDownMs: CIRCUIT_DEFAULTS.coolDownMs,
      probeLeaseMs: 7_000,
    });
  });

  it('names durations for the disable reason', () => {
    expect([spoken(432_000_000), spoken(7_200_000), spoken(1_500), spoken(250)]).toEqual([
      '5 d',
      '2 h',
      '1.5 s',
      '250 ms',
    ]);
  });
});
