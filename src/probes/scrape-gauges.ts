// Gauges read from Redis at scrape time: queue depth per state (summed over the shards and the
// queues of other WSS_SHARDS values, and per queue: one per shard), the bridge group's lag and pending count, and the
// dead-letter stream's length. They live in a registry of their own,
// one per server, so the process-wide counters in src/lib/metrics.ts stay import-time singletons
// while two servers in one test process do not fight over a gauge.
import type { RedisClient } from '../redis/client.js';
import { Gauge, Registry } from 'prom-client';
import type { Config } from '../config.js';
import { parseGroups } from '../redis/streams/xinfo.js';
import type { DeliveryQueues } from '../queue/delivery-queues.js';
import { PROBE_TIMEOUT_MS, withTimeout } from '../lib/timeout.js';
import { circuitStates } from '../endpoints/circuit.js';
import { BACKLOG_MIN_INTERVAL_MS, tenantBacklog } from './tenant-backlog.js';
import { FOLDED, seriesOf } from '../lib/metrics.js';

// Fixed label set: BullMQ's own state names, never anything from job data.
const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
] as const;

export interface ScrapeGauges {
  registry: Registry;
  /** Refreshes the gauges; never throws (a failed read sets wss_redis_up to 0). */
  collect(): Promise<void>;
}

type StreamFacts = { length: number; lag: number | undefined; pending: number | undefined };

/** Lag and pending of `group` in an XINFO GROUPS reply. */
export function groupFacts(
  reply: unknown,
  group: string,
): { lag: number | undefined; pending: number | undefined } | undefined {
  const g = parseGroups(reply).find((x) => x.name === group);
  return g && { lag: g.lag, pending: g.pending };
}

async function streamFacts(redis: RedisClient, stream: string, group: string): Promise<StreamFacts> {
  const length = await redis.xlen(stream);
  if (length === 0 && (await redis.exists(stream)) === 0) return { length, lag: undefined, pending: undefined };
  const facts = groupFacts(await redis.xinfo('GROUPS', stream), group);
  return { length, lag: facts?.lag, pending: facts?.pending };
}

export function createScrapeGauges(
  redis: RedisClient,
  queues: DeliveryQueues,
  config: Pick<Config, 'stream' | 'deadLetterStream' | 'group' | 'prefix' | 'layout'>,
  timeoutMs = PROBE_TIMEOUT_MS,
): ScrapeGauges {
  const registry = new Registry();
  const up = new Gauge({
    name: 'wss_redis_up',
    help: '1 when the last scrape could read Redis, else 0.',
    registers: [registry],
  });
  const jobs = new Gauge({
    name: 'wss_queue_jobs',
    help: 'Delivery jobs per BullMQ state (delayed = scheduled retries, failed = gave up).',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const queueJobs = new Gauge({
    name: 'wss_queue_shard_jobs',
    help: 'Delivery jobs per BullMQ state and queue: one queue per shard (WSS_SHARDS), plus queues of an earlier WSS_SHARDS that still hold jobs.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
  });
  const streamLength = new Gauge({
    name: 'wss_stream_length',
    help: 'Entries in the event stream (acknowledged ones included until trimmed).',
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'wss_stream_consumer_lag',
    help: "Entries in the stream not yet delivered to the bridge's consumer group.",
    registers: [registry],
  });
  const pending = new Gauge({
    name: 'wss_stream_pending',
    help: "Entries read by the bridge's consumer group but not yet acknowledged.",
    registers: [registry],
  });
  const dead = new Gauge({
    name: 'wss_dead_letter_length',
    help: 'Entries in the dead-letter stream.',
    registers: [registry],
  });

  const circuit = new Gauge({
    name: 'wss_endpoint_circuit_state',
    help: 'Endpoint circuit breaker: 0 closed, 1 half-open (one probe), 2 open. Only endpoints with failures recorded since their last success; absent means closed.',
    labelNames: ['tenant', 'endpoint'] as const,
    registers: [registry],
  });
  const circuits = new Gauge({
    name: 'wss_endpoint_circuits',
    help: 'Endpoints whose circuit is open or half-open (one series per state, whatever WSS_METRICS_LABELS says).',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const backlog = new Gauge({
    name: 'wss_tenant_backlog',
    help: `Delivery jobs queued or in flight per tenant (waiting, prioritized, delayed, active). Recomputed at most every ${BACKLOG_MIN_INTERVAL_MS / 1000} s; costs one read of every queued job id.`,
    labelNames: ['tenant'] as const,
    registers: [registry],
  });
  let backlogAt = -Infinity;
  const readBacklog = async () => {
    if (Date.now() - backlogAt < BACKLOG_MIN_INTERVAL_MS) return;
    backlogAt = Date.now();
    const counts = await tenantBacklog(
      redis,
      config.prefix,
      queues.all().map((r) => r.name),
    );
    backlog.reset();
    const folded = new Map<string, number>();
    for (const [tenant, n] of counts) {
      const t = seriesOf(tenant, FOLDED).tenant;
      folded.set(t, (folded.get(t) ?? 0) + n);
    }
    for (const [tenant, n] of folded) backlog.set({ tenant }, n);
  };
  const readCircuits = async () => {
    const states = await circuitStates(redis, config.prefix, config.layout);
    circuit.reset();
    // Folded series (WSS_METRICS_LABELS) show the worst circuit among their endpoints.
    const worst = new Map<string, { labels: { tenant: string; endpoint: string }; value: number }>();
    let open = 0;
    let halfOpen = 0;
    for (const [field, state] of states) {
      const slash = field.indexOf('/');
      const labels = seriesOf(field.slice(0, slash), field.slice(slash + 1));
      const value = state === 'open' ? 2 : state === 'half-open' ? 1 : 0;
      if (value === 2) open++;
      if (value === 1) halfOpen++;
      const key = `${labels.tenant}/${labels.endpoint}`;
      if ((worst.get(key)?.value ?? -1) < value) worst.set(key, { labels, value });
    }
    for (const { labels, value } of worst.values()) circuit.set(labels, value);
    circuits.set({ state: 'open' }, open);
    circuits.set({ state: 'half-open' }, halfOpen);
  };

  const read = async () => {
    // Queues of other WSS_SHARDS values count too: their jobs are still to be delivered.
    await queues.foreign();
    await readCircuits();
    const refs = queues.all();
    const [perQueue, facts, deadLen] = await Promise.all([
      Promise.all(refs.map((r) => r.queue.getJobCounts(...QUEUE_STATES))),
      streamFacts(redis, config.stream, config.group),
      redis.xlen(config.deadLetterStream),
    ]);
    queueJobs.reset();
    for (const s of QUEUE_STATES) {
      let sum = 0;
      for (const [i, counts] of perQueue.entries()) {
        queueJobs.set({ queue: refs[i]!.name, state: s }, counts[s] ?? 0);
        sum += counts[s] ?? 0;
      }
      jobs.set({ state: s }, sum);
    }
    streamLength.set(facts.length);
    // A group that does not exist yet has no lag to report: leave the series out, not 0.
    if (facts.lag === undefined) lag.reset();
    else lag.set(facts.lag);
    if (facts.pending === undefined) pending.reset();
    else pending.set(facts.pending);
    dead.set(deadLen);
  };

  return {
    registry,
    async collect() {
      // ioredis queues commands while disconnected; do not make the scraper wait for that.
      if (redis.status !== 'ready') {
        up.set(0);
        return;
      }
      try {
        await withTimeout(read(), timeoutMs, 'metrics read');
        up.set(1);
        // Apart from wss_redis_up: a slow backlog count must not make Redis look down.
        await withTimeout(readBacklog(), timeoutMs, 'backlog read').catch(() => undefined);
      } catch {
        up.set(0);
      }
    },
  };
}
