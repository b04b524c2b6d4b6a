// What stands between a job and its endpoint besides the slot cap: the endpoint's circuit
// (circuit.ts) and its enabled flag. Before sending, `check` says send or wait; after, `report`
// feeds the outcome to the circuit and, when an endpoint has failed without a success for
// WSS_DISABLE_AFTER, disables it (endpoints/disable.ts). A job told to wait goes back to the
// delayed set without spending an attempt (process-delivery.ts).
import { errorMessage, type DeliveryError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { circuitOpened, seriesOf } from '../lib/metrics.js';
import type { EndpointConfig } from '../tenants/schema.js';
import { CIRCUIT_DEFAULTS, type CircuitBreaker, type CircuitSettings } from './circuit.js';

/**
 * A disabled endpoint's jobs are kept, parked this long at a time (re-enabling through the admin
 * API promotes them at once): 100,000 parked jobs cost about 330 moves a second.
 */
const DISABLED_PARK_MS = 300_000;
// Up to 10 % more, so jobs parked together do not all come back in the same instant.
const jitter = (ms: number, random: () => number) => Math.round(ms * (1 + random() * 0.1));

/** 432000000 → "5 d", 90000 → "90 s". */
export function spoken(ms: number): string {
  if (ms >= 86_400_000 && ms % 3_600_000 === 0) return `${ms / 86_400_000} d`;
  if (ms >= 3_600_000 && ms % 60_000 === 0) return `${ms / 3_600_000} h`;
  return ms >= 1_000 ? `${ms / 1_000} s` : `${ms} ms`;
}

export type GuardVerdict =
  { send: true; probe: boolean } | { send: false; waitMs: number; why: string; reason: 'disabled' | 'circuit-open' };

/** How an attempt's outcome counts for the circuit: a retryable failure, an answer, or neither. */
export function circuitOutcome(err: DeliveryError | undefined): 'failure' | 'success' | 'none' {
  if (err === undefined) return 'success';
  if (err.code === 'NETWORK' || err.code === 'TIMEOUT') return 'failure';
  if (err.code === 'HTTP_STATUS' && err.status !== undefined)
    return err.status >= 500 || err.status === 408 || err.status === 429 ? 'failure' : 'success';
  return err.code === 'ENDPOINT_GONE' ? 'success' : 'none';
}

export function circuitSettings(ep: Pick<EndpointConfig, 'timeoutMs' | 'circuit'>): CircuitSettings {
  return {
    failures: ep.circuit?.failures ?? CIRCUIT_DEFAULTS.failures,
    coolDownMs: ep.circuit?.coolDownMs ?? CIRCUIT_DEFAULTS.coolDownMs,
    // The probe's own timeout plus a margin: a prober that died frees the probe after this.
    probeLeaseMs: ep.timeoutMs + 5_000,
  };
}

interface GuardDeps {
  breaker: CircuitBreaker;
  endpoint(tenant: string, endpoint: string): EndpointConfig | undefined;
  /** The endpoint after re-reading the registry if its version moved. */
  freshEndpoint(tenant: string, endpoint: string): Promise<EndpointConfig | undefined>;
  /** Disables the endpoint for good reason (records it, logs, counts, tells the tenant). */
  autoDisable(tenant: string, endpoint: string, reason: string, atMs: number): Promise<void>;
  disableAfterMs: number;
  log: Logger;
  now(): number;
  random(): number;
}

export class EndpointGuard {
  constructor(private readonly d: GuardDeps) {}

  async check(tenant: string, endpoint: string): Promise<GuardVerdict> {
    let ep = this.d.endpoint(tenant, endpoint);
    // Enabled again a moment ago (the admin API promotes its jobs at once): this process's
    // snapshot may not know yet. One version read per parked job's return.
    if (ep && !ep.enabled) ep = await this.d.freshEndpoint(tenant, endpoint);
    // A deleted endpoint fails in deliverAttempt, with its reason.
    if (!ep) return { send: true, probe: false };
    if (!ep.enabled)
      return { send: false, waitMs: jitter(DISABLED_PARK_MS, this.d.random), why: 'is disabled', reason: 'disabled' };
    let gate: Awaited<ReturnType<CircuitBreaker['gate']>>;
    try {
      gate = await this.d.breaker.gate(tenant, endpoint, circuitSettings(ep));
    } catch {
      // Fail open: without Redis the job cannot be settled anyway, and a circuit is no reason to fail it.
      return { send: true, probe: false };
    }
    if (gate.send) return gate;
    // Spread over one more cool-down: jobs parked together must not come back in one burst (a
    // herd of thousands ahead of every other endpoint's jobs in the FIFO), but a few at a time.
    const waitMs = Math.max(gate.waitMs, 50);
    return {
      send: false,
      waitMs: Math.round(waitMs + this.d.random() * waitMs),
      why: 'has its circuit open',
      reason: 'circuit-open',
    };
  }

  /** Never throws: a failed report must not change the attempt's outcome. */
  async report(tenant: string, endpoint: string, probe: boolean, err: DeliveryError | undefined): Promise<void> {
    const kind = circuitOutcome(err);
    if (kind === 'none') return;
    const fields = { tenant, endpoint };
    try {
      if (kind === 'success') return await this.d.breaker.success(tenant, endpoint, probe);
      const ep = this.d.endpoint(tenant, endpoint);
      if (!ep) return;
      const reason = `${err!.code}: ${err!.message}`;
      const r = await this.d.breaker.failure(tenant, endpoint, circuitSettings(ep), reason);
      if (r.state === 'open' && r.openUntil > 0 && (probe || r.failures === circuitSettings(ep).failures)) {
        circuitOpened.inc(seriesOf(tenant, endpoint));
        this.d.log.warn(
          { ...fields, failures: r.failures, openForMs: r.openUntil - this.d.now(), probe },
          'circuit open: no requests to this endpoint until the cool-down ends',
        );
      }
      if (r.disableNow) {
        const why = `no success for ${spoken(this.d.disableAfterMs)} (WSS_DISABLE_AFTER); last failure: ${reason}`;
        await this.d.autoDisable(tenant, endpoint, why.slice(0, 1_000), this.d.now());
      }
    } catch (e) {
      this.d.log.warn({ ...fields, err: errorMessage(e) }, 'circuit: could not record the outcome');
    }
  }
}
