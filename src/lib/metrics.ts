// Prometheus metrics. Labels stay bounded: tenant and endpoint ids come from the registry,
// outcomes and kinds from fixed sets; never an event id. WSS_METRICS_LABELS bounds them further:
// `tenant` folds every endpoint of a tenant into one series, `none` folds every tenant too.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const metricsRegistry = new Registry();

// Process memory, CPU, heap and event-loop lag (nodejs_eventloop_lag_*), for the dashboard.
collectDefaultMetrics({ register: metricsRegistry, eventLoopMonitoringPrecision: 20 });

/** How much of an endpoint's identity the labelled series keep (WSS_METRICS_LABELS). */
export type MetricLabelDetail = 'endpoint' | 'tenant' | 'none';
/** The label value that stands for every tenant or endpoint folded into one series. */
export const FOLDED = '*';
let labelDetail: MetricLabelDetail = 'endpoint';

/** Set once by the process runner, before any delivery; clears the cached children. */
export function setMetricLabelDetail(detail: MetricLabelDetail): void {
  labelDetail = detail;
  deliveryChildren.clear();
  inFlightChildren.clear();
}

/** The tenant and endpoint label values of a series under WSS_METRICS_LABELS. */
export function seriesOf(tenant: string, endpoint: string): { tenant: string; endpoint: string } {
  if (labelDetail === 'endpoint') return { tenant, endpoint };
  return { tenant: labelDetail === 'tenant' ? tenant : FOLDED, endpoint: FOLDED };
}

const deliveries = new Counter({
  name: 'wss_deliveries_total',
  help: 'Delivery attempts by outcome: delivered, retry (will be retried), failed (gave up), disabled (410).',
  labelNames: ['tenant', 'endpoint', 'outcome'] as const,
  registers: [metricsRegistry],
});

const attemptSeconds = new Histogram({
  name: 'wss_attempt_duration_seconds',
  help: 'Duration of one HTTP delivery attempt.',
  labelNames: ['outcome'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});

export const endToEndSeconds = new Histogram({
  name: 'wss_end_to_end_lag_seconds',
  help: 'From the event entering the stream to its delivery (2xx).',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 3600, 21600],
  registers: [metricsRegistry],
});

export const deadLettered = new Counter({
  name: 'wss_dead_lettered_total',
  help: 'Stream entries written to the dead-letter stream, by kind (malformed, unknown_tenant, expression, too_large, poison).',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});
// Fixed label sets start at 0, so rate() and increase() see the first one (an alert fires on it).
for (const kind of ['malformed', 'unknown_tenant', 'expression', 'too_large', 'poison']) deadLettered.inc({ kind }, 0);

export const historyWriteFailures = new Counter({
  name: 'wss_history_write_failures_total',
  help: 'Delivery log (docs/delivery-log.md) writes that failed, by writer: worker (an attempt line, lost; the delivery itself is unaffected) or bridge (the batch is retried).',
  labelNames: ['writer'] as const,
  registers: [metricsRegistry],
});
for (const writer of ['worker', 'bridge']) historyWriteFailures.inc({ writer }, 0);

export const unrouted = new Counter({
  name: 'wss_events_unrouted_total',
  help: 'Valid events that no endpoint subscribed to (acknowledged, not dead-lettered).',
  registers: [metricsRegistry],
});

export const jobsEnqueued = new Counter({
  name: 'wss_bridge_jobs_enqueued_total',
  help: 'Delivery jobs handed to BullMQ by the bridge (re-reads deduplicated by BullMQ included).',
  registers: [metricsRegistry],
});

export const bridgeBatchSize = new Histogram({
  name: 'wss_bridge_batch_entries',
  help: 'Stream entries per bridge read.',
  buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 5000],
  registers: [metricsRegistry],
});

// prom-client hashes the label object on every call; at thousands of deliveries per second
// that was ~10 % of the worker's CPU (bench/). Labelled children are cached instead: the key
// space is bounded by the registry (tenant × endpoint × 4 outcomes).
const deliveryChildren = new Map<string, { inc(): void }>();
const attemptChildren = new Map<string, { observe(v: number): void }>();

export function countDelivery(tenant: string, endpoint: string, outcome: string, seconds: number): void {
  const key = `${tenant}\u0000${endpoint}\u0000${outcome}`;
  let counter = deliveryChildren.get(key);
  if (!counter) {
    const l = seriesOf(tenant, endpoint);
    deliveryChildren.set(key, (counter = deliveries.labels(l.tenant, l.endpoint, outcome)));
  }
  counter.inc();
  let histogram = attemptChildren.get(outcome);
  if (!histogram) attemptChildren.set(outcome, (histogram = attemptSeconds.labels(outcome)));
  histogram.observe(seconds);
}

export const bridgeCommitFailures = new Counter({
  name: 'wss_bridge_commit_failures_total',
  help: 'Bridge batches whose planning or commit (addBulk, dead letters, XACK) failed; the batch is retried.',
  registers: [metricsRegistry],
});

export const replicationShort = new Counter({
  name: 'wss_bridge_replication_short_total',
  help: 'Bridge batches acknowledged with fewer replicas confirming their writes than WSS_WAIT_REPLICAS (a master lacked replicas).',
  registers: [metricsRegistry],
});

export const bridgeHeldEvents = new Gauge({
  name: 'wss_bridge_held_events',
  help: 'Source messages the bridge holds back, unacknowledged, because their tenant has more than WSS_HOLD_AFTER jobs queued.',
  registers: [metricsRegistry],
});

export const expressionFailures = new Counter({
  name: 'wss_expression_failures_total',
  help: 'Filter/transform evaluations that failed, by kind: timeout, memory, recursion (limits) or error.',
  labelNames: ['tenant', 'endpoint', 'kind'] as const,
  registers: [metricsRegistry],
});

export const jobsStalled = new Counter({
  name: 'wss_jobs_stalled_total',
  help: "Jobs this process's stalled check found without a live lock (their worker died or lost the lock) and returned to the queue; the next attempt carries X-WSS-Redelivery: true.",
  registers: [metricsRegistry],
});

export const jobsFailedStalled = new Counter({
  name: 'wss_jobs_failed_stalled_total',
  help: 'Deliveries that failed because their job stalled more than WSS_MAX_STALLED_COUNT times.',
  labelNames: ['tenant', 'endpoint'] as const,
  registers: [metricsRegistry],
});

export const sendsSkippedLockLost = new Counter({
  name: 'wss_deliveries_not_sent_lock_lost_total',
  help: 'Attempts not sent because the job lock had lapsed (Redis outage, frozen process); the job goes back to the queue without spending an attempt.',
  registers: [metricsRegistry],
});

export const orderingSkipped = new Counter({
  name: 'wss_ordering_reparked_total',
  help: 'Ordered deliveries that reached a worker while not the released head of their ordering key, and were parked again unsent (docs/ordering.md).',
  registers: [metricsRegistry],
});

export const endpointsDisabled = new Counter({
  name: 'wss_endpoints_disabled_total',
  help: 'Endpoints disabled by the service, by kind: auto (failing without a success for WSS_DISABLE_AFTER) or gone (410).',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});
for (const kind of ['auto', 'gone']) endpointsDisabled.inc({ kind }, 0);

export const circuitOpened = new Counter({
  name: 'wss_endpoint_circuit_opened_total',
  help: "Times an endpoint's circuit opened (N consecutive retryable failures, or a failed probe), as seen by this worker.",
  labelNames: ['tenant', 'endpoint'] as const,
  registers: [metricsRegistry],
});

const endpointInFlight = new Gauge({
  name: 'wss_endpoint_in_flight',
  help: "Deliveries this worker process has in flight, per endpoint (sum over the replicas for the fleet; an endpoint's maxInFlight caps that sum).",
  labelNames: ['tenant', 'endpoint'] as const,
  registers: [metricsRegistry],
});

const endpointThrottled = new Counter({
  name: 'wss_endpoint_throttled_total',
  help: 'Jobs made to wait (back to the delayed set, no attempt spent) by an endpoint limit, by reason: max-in-flight, rate-limit, paused (the receiver answered 429/503) or process-cap (WSS_ENDPOINT_CONCURRENCY).',
  labelNames: ['tenant', 'endpoint', 'reason'] as const,
  registers: [metricsRegistry],
});

/** Counts a job made to wait by an endpoint limit (labels folded by WSS_METRICS_LABELS). */
export function countThrottled(tenant: string, endpoint: string, reason: string): void {
  endpointThrottled.inc({ ...seriesOf(tenant, endpoint), reason });
}

const inFlightChildren = new Map<string, { inc(): void; dec(): void }>();

/** The labelled wss_endpoint_in_flight child, cached like countDelivery's (it moves twice per delivery). */
export function endpointInFlightOf(tenant: string, endpoint: string): { inc(): void; dec(): void } {
  const key = `${tenant}\u0000${endpoint}`;
  let child = inFlightChildren.get(key);
  if (!child) {
    const l = seriesOf(tenant, endpoint);
    inFlightChildren.set(key, (child = endpointInFlight.labels(l.tenant, l.endpoint)));
  }
  return child;
}

export const registryEndpointsLoaded = new Counter({
  name: 'wss_registry_endpoints_loaded_total',
  help: 'Registry endpoints this process read and compiled, by mode: full (start-up, or a gap in the change log) or incremental (only the endpoints a change named).',
  labelNames: ['mode'] as const,
  registers: [metricsRegistry],
});

export const registryReloads = new Counter({
  name: 'wss_registry_reloads_total',
  help: 'Times this process brought its registry snapshot up to date, by mode: full or incremental (docs/registry.md).',
  labelNames: ['mode'] as const,
  registers: [metricsRegistry],
});
