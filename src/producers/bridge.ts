// The bridge: source messages → one delivery job per subscribed endpoint. One loop per process,
// the same for every source (sources/source.ts): take a batch, plan it (pure, plan-batch.ts),
// give its jobs fair-share priorities per shard (queue/fair-queues.ts), commit it to Redis
// (commit-batch.ts), and only then acknowledge it to the source. Any error leaves the batch
// unacknowledged: it is kept in hand and retried as it is, or read again from the source.
// At-least-once reading, exactly-once jobs (deterministic job ids plus BullMQ deduplication
// with a TTL). On a source that holds, a tenant with more than WSS_HOLD_AFTER jobs queued has its
// further messages held back unacknowledged while the bridge reads on (hold-reader.ts).
import { errorMessage } from '../lib/errors.js';
import { DeliveryQueues } from '../queue/delivery-queues.js';
import { FairShare } from '../queue/fair-queues.js';
import { bridgeCommitFailures } from '../lib/metrics.js';
import { once } from '../lib/once.js';
import { ExpressionBreaker, expressionsOf } from '../expressions/breaker.js';
import { createExpressionPool } from '../expressions/pool.js';
import { settlesWithin, withTimeout } from '../lib/timeout.js';
import type { Readiness, RoleContext, RunningRole } from '../roles.js';
import { commitBatch, reportBatch, type BridgeHooks, type CommitTarget, type ShardedPlan } from './commit-batch.js';
import { HistoryStore } from '../history/store.js';
import { planBatch } from './plan-batch.js';
import { poisonPlan } from './poison.js';
import { createHoldReader } from './hold-reader.js';
import { createSource } from './sources/index.js';
import type { SourceBatch, SourceStats } from './sources/source.js';
import { ReplicaWaiter } from './wait-replicas.js';
import { noopTracer } from '../tracing/noop.js';
import type { Span } from '../tracing/types.js';
import { bridgeSpans } from './bridge-spans.js';
import { OrderingStore } from '../queue/ordering-store.js';
import { ORDER_HEAL_MS } from '../queue/ordering.js';
import { OrderReleases } from './order-releases.js';

export type { BridgeHooks } from './commit-batch.js';

export interface BridgeOptions {
  hooks?: BridgeHooks;
}

export interface BridgeStats extends SourceStats {
  batches: number;
  /** Messages handled (acknowledged). */
  entries: number;
  jobs: number;
  deadLetters: number;
  unrouted: number;
  errors: number;
  /** Messages dead-lettered as poison (delivered WSS_MAX_ENTRY_DELIVERIES times, never acknowledged). */
  poison: number;
  lastError: string | undefined;
  /** Messages held back now (WSS_HOLD_AFTER), unacknowledged. */
  held: number;
}

export interface RunningBridge extends RunningRole {
  name: 'bridge';
  stats(): Readonly<BridgeStats>;
}

// Ordering keys (docs/ordering.md): how often the release pass runs.
const ORDER_PASS_MS = 200;
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

export async function startBridge(ctx: RoleContext<'bridge'>, opts: BridgeOptions = {}): Promise<RunningBridge> {
  const { config, registry, now } = ctx;
  const { source, log: blog } = createSource(ctx);
  await source.start();
  // One queue per shard (WSS_SHARDS); the shared connection's own handler reports outages.
  const queues = new DeliveryQueues(ctx.redis, config.prefix, config.layout, (err: Error) =>
    blog.debug({ err: err.message }, 'bridge: queue connection error'),
  );
  await queues.register();
  const fair = new FairShare(ctx.redis, queues);
  const ordering = new OrderingStore(ctx.redis, {
    prefix: config.prefix,
    ttlS: config.orderingKeyTtlS,
    healMs: ORDER_HEAL_MS,
    cluster: config.layout.cluster,
    now,
  });
  const releases = new OrderReleases(ordering, queues, source, blog);
  const target: CommitTarget = {
    ordering,
    redis: ctx.redis,
    fair,
    deadLetterStream: config.deadLetterStream,
    log: blog,
    hooks: opts.hooks,
    history: new HistoryStore(ctx.redis, { prefix: config.prefix, layout: config.layout, ...config.history }),
    now,
    replicas:
      config.bridge.waitReplicas > 0
        ? new ReplicaWaiter({ replicas: config.bridge.waitReplicas, timeoutMs: config.bridge.waitTimeoutMs }, now, blog)
        : undefined,
  };
  const planOpts = {
    dedupTtlMs: config.dedupTtlMs,
    keepCompleted: config.keepCompleted,
    maxEventBytes: config.maxEventBytes,
  };
  // Filters and transforms run in threads with limits; endpoints without them never touch it.
  const pool = createExpressionPool(config, blog);
  const breaker = new ExpressionBreaker({
    breakAfter: config.expr.breakAfter,
    now,
    log: blog,
    persist: async (tenant, endpoint, broken, expressions) => {
      await registry.updateEndpoint(tenant, endpoint, (cur) =>
        expressionsOf(cur) === expressions && cur.broken === undefined ? { ...cur, broken } : cur,
      );
    },
  });

  const counts = { batches: 0, entries: 0, jobs: 0, deadLetters: 0, unrouted: 0, errors: 0, poison: 0 };
  let lastError: string | undefined;
  let stopping = false;
  // A batch whose planning or commit failed: retried as it is, not read again, so a passing
  // outage does not raise its messages' delivery counts towards the poison bound.
  let inHand: SourceBatch | undefined;
  // Since when reads or commits have failed without a success in between (readiness).
  let failingSince: number | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const traceInto = bridgeSpans(ctx.tracer ?? noopTracer, source.kind);

  const endpointsOf = (tenant: string) => registry.snapshot().tenants.get(tenant)?.endpoints.values();
  const endpointIds = (tenant: string) => [...(endpointsOf(tenant) ?? [])].map((e) => e.config.id);

  // Hold-back (WSS_HOLD_AFTER): only where the source lets messages wait unacknowledged.
  const holdReader = createHoldReader(config.bridge, source, fair, endpointsOf, now, blog);
  const held = () => holdReader?.hold.size ?? 0;

  async function plan(batch: SourceBatch, spans: Span[]): Promise<ShardedPlan> {
    const { messages, poison } = batch;
    if (poison) return { ...poisonPlan(messages, poison, config.bridge.maxEntryDeliveries), shards: [] };
    await opts.hooks?.beforePlan?.(messages);
    // A tenant added a moment ago may not be in this process's snapshot yet: look once more
    // before dead-lettering its events.
    const tenants = registry.snapshot().tenants;
    if (messages.some((m) => m.fields?.['tenant'] !== undefined && !tenants.has(m.fields['tenant'])))
      await registry.refresh();
    const { jobs, ...rest } = await planBatch(
      messages,
      endpointsOf,
      { ...planOpts, trace: traceInto(spans) },
      { runner: pool, gate: breaker },
    );
    return { ...rest, shards: jobs.length === 0 ? [] : await fair.plan(jobs, endpointIds) };
  }

  async function handle(batch: SourceBatch): Promise<void> {
    inHand = batch.messages.length > 0 ? batch : undefined;
    if (!inHand) return;
    let sharded: ShardedPlan;
    const spans: Span[] = [];
    try {
      sharded = await plan(batch, spans);
      await commitBatch(sharded, target);
      await source.ack(batch);
    } catch (err) {
      bridgeCommitFailures.inc();
      // The batch is handled again: its events get new bridge spans then.
      for (const s of spans) {
        s.fail('commit_failed', errorMessage(err).slice(0, 200));
        s.end();
      }
      throw err;
    }
    for (const s of spans) s.end();
    inHand = undefined;
    // Ordered heads the new watermark allows go now, not at the next tick (other batches: the
    // tick), and so after the batch that ends a flush of held entries (hold-reader.ts).
    if (holdReader?.takeFlushEnd() || sharded.shards.some((s) => s.jobs.some((j) => j.data.ordering)))
      await releases.run();
    reportBatch(sharded, target);
    // Broken marks found while planning; never throws (a failed write is retried next batch).
    await breaker.flush();
    counts.batches++;
    counts.entries += batch.messages.length;
    for (const s of sharded.shards) counts.jobs += s.jobs.length;
    counts.deadLetters += sharded.dead.length;
    counts.unrouted += sharded.unrouted;
    if (batch.poison) counts.poison += sharded.dead.length;
  }

  const loop = (async () => {
    let backoff = 0;
    while (!stopping) {
      try {
        await handle(inHand ? await source.keep(inHand) : await (holdReader ?? source).next());
        backoff = 0;
        failingSince = undefined;
      } catch (err) {
        if (stopping) break;
        counts.errors++;
        failingSince ??= now();
        lastError = errorMessage(err);
        backoff = Math.min(Math.max(MIN_BACKOFF_MS, backoff * 2), MAX_BACKOFF_MS);
        blog.error(
          { err: lastError, retryInMs: backoff },
          'bridge: read or commit failed; messages read but not acknowledged are kept or read again',
        );
        try {
          if (await source.recover(err)) {
            inHand = undefined;
            holdReader?.clear();
          }
        } catch (e) {
          blog.error({ err: errorMessage(e) }, 'bridge: the source could not recover (it is tried again)');
        }
        await sleep(backoff);
      }
    }
  })();

  releases.start(ORDER_PASS_MS);
  blog.info(
    {
      batchSize: config.bridge.batchSize,
      blockMs: config.bridge.blockMs,
      holdAfter: holdReader ? config.bridge.holdAfter : 0,
    },
    'bridge: started',
  );

  return {
    name: 'bridge',
    stats: () => ({ ...counts, ...source.stats(), lastError, held: held() }),
    async ready(): Promise<Readiness> {
      if (stopping) return { ok: false, detail: 'stopping' };
      if (failingSince !== undefined && now() - failingSince >= config.bridge.unhealthyAfterMs) {
        const seconds = Math.round((now() - failingSince) / 1000);
        return {
          ok: false,
          detail: `reads or commits on ${source.description} have failed for ${seconds} s (WSS_BRIDGE_UNHEALTHY_AFTER_MS=${config.bridge.unhealthyAfterMs}); last error: ${lastError}`,
        };
      }
      const r = await source.ready();
      return r.ok && lastError && counts.errors > 0 ? { ok: true, detail: `${r.detail}; last error: ${lastError}` } : r;
    },
    stop: once(async () => {
      stopping = true;
      releases.stop();
      wake?.();
      source.interrupt();
      // The loop ends after the read or batch in hand (at most blockMs for an idle read).
      if (!(await settlesWithin(loop, config.shutdownGraceMs))) {
        blog.warn(
          { graceMs: config.shutdownGraceMs },
          'bridge: batch still in hand at the end of the grace period; it is not acknowledged and is read again',
        );
      }
      await source.close();
      await pool.close();
      await withTimeout(queues.close(), 2_000, 'queue close').catch(() => undefined);
      blog.info({ ...counts, ...source.stats(), lastError, held: held() }, 'bridge: stopped');
    }),
  };
}
