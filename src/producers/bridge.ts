// The bridge: stream entries → one delivery job per subscribed endpoint. One loop per process,
// on its own connection (XREADGROUP blocks). Nothing is acknowledged before its jobs exist, and
// any error leaves the entries pending to be read again: at-least-once reading, exactly-once
// jobs (deterministic job ids plus BullMQ deduplication with a TTL).
import { duplicateClient, type RedisClient } from '../redis/client.js';
import { errorMessage } from '../lib/errors.js';
import { DeliveryQueues } from '../queue/delivery-queues.js';
import type { BulkJob } from '../queue/job.js';
import { bridgeCommitFailures } from '../lib/metrics.js';
import { once } from '../lib/once.js';
import { ExpressionBreaker, expressionsOf } from '../expressions/breaker.js';
import { createExpressionPool } from '../expressions/trial.js';
import { PROBE_TIMEOUT_MS, settlesWithin, withTimeout } from '../lib/timeout.js';
import type { Readiness, RoleContext, RunningRole } from '../roles.js';
import { Claimer, pendingEntries, readerConnectionName } from './sources/redis-stream/claim.js';
import { commitBatch, jobsByShard, type BridgeHooks } from './commit-batch.js';
import { HistoryStore } from '../history/store.js';
import { ensureGroup, isGroupGone, pruneIdleConsumers } from './sources/redis-stream/consumer-group.js';
import { listGroups } from '../redis/streams/xinfo.js';
import { nextChunk } from './sources/redis-stream/pending.js';
import { planBatch, type BatchPlan } from './plan-batch.js';
import { assignPriorities, fieldsToRead, type FairPlan } from '../queue/fair-share.js';
import { fairKeys, readFairState } from '../queue/fair-state.js';
import { poisonPlan } from './poison.js';
import { nextReadCount } from './sources/redis-stream/read-budget.js';
import { maxStreamId } from '../redis/streams/stream-id.js';
import { readGroupEntries, type StreamEntry } from '../redis/streams/stream-reply.js';
import { trimStream } from './sources/redis-stream/trim.js';
import { ReplicaWaiter } from './wait-replicas.js';

export type { BridgeHooks } from './commit-batch.js';

export interface BridgeOptions {
  hooks?: BridgeHooks;
}

export interface BridgeStats {
  batches: number;
  entries: number;
  jobs: number;
  deadLetters: number;
  unrouted: number;
  errors: number;
  /** Entries taken over from other consumers (dead ones at once, others after WSS_CLAIM_IDLE_MS). */
  claimed: number;
  /** Entries dead-lettered as poison (delivered WSS_MAX_ENTRY_DELIVERIES times, never acknowledged). */
  poison: number;
  groupRecreated: number;
  trimmed: number;
  /** Highest entry id this bridge acknowledged. */
  lastHandledId: string | undefined;
  lastError: string | undefined;
}

export interface RunningBridge extends RunningRole {
  name: 'bridge';
  stats(): Readonly<BridgeStats>;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
// Consumers idle this long with nothing pending belong to bridges that are gone.
const CONSUMER_IDLE_PRUNE_MS = 3_600_000;

export async function startBridge(ctx: RoleContext<'bridge'>, opts: BridgeOptions = {}): Promise<RunningBridge> {
  const { config, log, registry, now } = ctx;
  const { stream, group } = config;
  const { consumer } = config.bridge;
  const blog = log.child({ role: 'bridge', stream, group, consumer });

  await ensureGroup(ctx.redis, stream, group, '0');
  // Named after the consumer: other bridges read CLIENT LIST to tell a dead consumer from a live one.
  const reader: RedisClient = duplicateClient(ctx.redis, { connectionName: readerConnectionName(consumer) });
  reader.on('error', (err: Error) => blog.debug({ err: err.message }, 'bridge: reader connection error'));
  // One queue per shard (WSS_SHARDS); the shared connection's own handler reports outages.
  const queues = new DeliveryQueues(ctx.redis, config.prefix, config.layout, (err: Error) =>
    blog.debug({ err: err.message }, 'bridge: queue connection error'),
  );
  await queues.register();
  const target = {
    queues,
    queueRedis: ctx.redis,
    redis: reader,
    stream,
    group,
    deadLetterStream: config.deadLetterStream,
    log: blog,
    hooks: opts.hooks,
    history: new HistoryStore(reader, { prefix: config.prefix, layout: config.layout, ...config.history }),
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

  const stats: BridgeStats = {
    batches: 0,
    entries: 0,
    jobs: 0,
    deadLetters: 0,
    unrouted: 0,
    errors: 0,
    claimed: 0,
    poison: 0,
    groupRecreated: 0,
    trimmed: 0,
    lastHandledId: undefined,
    lastError: undefined,
  };
  let stopping = false;
  // Own pending entries are read (from this id on) before new ones; null: read new entries.
  let pendingCursor: string | null = '0';
  const claimer = new Claimer({
    redis: reader,
    stream,
    group,
    consumer,
    claimIdleMs: config.bridge.claimIdleMs,
    batchSize: config.bridge.batchSize,
    maxDeliveries: config.bridge.maxEntryDeliveries,
    log: blog,
  });
  let nextClaimAt = 0;
  // A batch whose planning or commit failed: retried as it is, not re-read, so a passing
  // outage does not raise its entries' delivery counts towards the poison bound.
  let inHand: { entries: StreamEntry[]; poison: ReadonlyMap<string, number> | undefined } | undefined;
  // Since when reads or commits have failed without a success in between (readiness).
  let failingSince: number | undefined;
  let nextTrimAt = now() + config.bridge.claimIntervalMs;
  let wake: (() => void) | undefined;
  // COUNT of the next read, adapted to the bytes of the last one (read-budget.ts).
  let readCount = config.bridge.batchSize;

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

  const endpointsOf = (tenant: string) => {
    const t = registry.snapshot().tenants.get(tenant);
    return t?.endpoints.values();
  };

  async function planEntries(entries: StreamEntry[]) {
    await opts.hooks?.beforePlan?.(entries);
    // A tenant added a moment ago may not be in this process's snapshot yet: look once more
    // before dead-lettering its events.
    const tenants = registry.snapshot().tenants;
    if (entries.some((e) => e.fields?.['tenant'] !== undefined && !tenants.has(e.fields['tenant'])))
      await registry.refresh();
    const plan = await planBatch(entries, endpointsOf, planOpts, { runner: pool, gate: breaker });
    if (plan.jobs.length === 0) return plan;
    // Fair share, per shard (each queue orders its own jobs): the state of the batch's flows in
    // that shard, read once; priorities planned from it. A tenant's share in a shard counts its
    // endpoints in that shard.
    const endpointIds = (tenant: string) => [...(endpointsOf(tenant) ?? [])].map((e) => e.config.id);
    const fair = new Map<number, FairPlan>();
    await Promise.all(
      [...jobsByShard(queues, plan.jobs)].map(async ([ref, jobs]) => {
        const k = ref.shard!;
        const ids =
          queues.current.length === 1
            ? endpointIds
            : (tenant: string) => endpointIds(tenant).filter((e) => queues.forEndpoint(tenant, e) === ref);
        const state = await readFairState(reader, fairKeys(config.prefix, ref.name), fieldsToRead(jobs, ids));
        fair.set(k, assignPriorities(jobs, state, ids));
      }),
    );
    const jobs: BulkJob[] = [...fair.keys()].sort((a, b) => a - b).flatMap((k) => fair.get(k)!.jobs);
    return { ...plan, jobs, fair };
  }

  /** `poison`: deliveries per entry of a chunk at the bound; dead-lettered, never planned. */
  async function handle(entries: StreamEntry[], poison?: ReadonlyMap<string, number>): Promise<void> {
    inHand = entries.length > 0 ? { entries, poison } : undefined;
    if (!inHand) return;
    readCount = nextReadCount(entries, config.bridge.batchBytes, config.bridge.batchSize, readCount);
    let plan: BatchPlan;
    try {
      plan = poison ? poisonPlan(entries, poison, config.bridge.maxEntryDeliveries) : await planEntries(entries);
      await commitBatch(plan, target);
    } catch (err) {
      bridgeCommitFailures.inc();
      throw err;
    }
    inHand = undefined;
    // Broken marks found while planning; never throws (a failed write is retried next batch).
    await breaker.flush();
    if (poison) stats.poison += plan.dead.length;
    stats.batches++;
    stats.entries += entries.length;
    stats.jobs += plan.jobs.length;
    stats.deadLetters += plan.dead.length;
    stats.unrouted += plan.unrouted;
    for (const e of entries) stats.lastHandledId = maxStreamId(stats.lastHandledId, e.id);
  }

  const readGroup = async (id: string, block: boolean, count = readCount) =>
    readGroupEntries(
      await reader.call(
        'XREADGROUP',
        'GROUP',
        group,
        consumer,
        'COUNT',
        count,
        ...(block ? ['BLOCK', config.bridge.blockMs] : []),
        'STREAMS',
        stream,
        id,
      ),
    );

  async function retryInHand(batch: NonNullable<typeof inHand>): Promise<void> {
    // JUSTID: keeps the entries ours and resets their idle time (so no other bridge claims
    // them meanwhile) without counting a delivery; entries acknowledged elsewhere drop out.
    const ids = batch.entries.map((e) => e.id);
    const still = new Set(
      ((await reader.call('XCLAIM', stream, group, consumer, 0, ...ids, 'JUSTID')) as unknown[]).map(String),
    );
    await handle(
      batch.entries.filter((e) => still.has(e.id)),
      batch.poison,
    );
  }

  async function readOwnPending(from: string): Promise<void> {
    // Delivery counts first (XPENDING counts no delivery), so an entry that killed bridges
    // before is read alone or dead-lettered.
    const chunk = nextChunk(
      await pendingEntries(reader, stream, group, { after: from === '0' ? '-' : from, count: readCount, consumer }),
      config.bridge.maxEntryDeliveries,
    );
    if (!chunk) {
      pendingCursor = null;
      return;
    }
    const entries = await readGroup(from, false, chunk.entries.length);
    await handle(entries, chunk.poison ? new Map(chunk.entries.map((p) => [p.id, p.deliveries])) : undefined);
    pendingCursor = chunk.entries.at(-1)!.id;
  }

  async function step(): Promise<void> {
    if (inHand) return retryInHand(inHand);
    if (now() >= nextClaimAt) {
      // Entries other consumers read but never acknowledged: at once from consumers with no
      // connection (dead bridges), after WSS_CLAIM_IDLE_MS from any other.
      const chunk = await claimer.next();
      if (!chunk) {
        nextClaimAt = now() + config.bridge.claimIntervalMs;
        return;
      }
      blog.info(
        { count: chunk.entries.length, from: chunk.from, poison: chunk.poison },
        'bridge: claimed entries of other consumers',
      );
      stats.claimed += chunk.entries.length;
      await handle(chunk.entries, chunk.poison ? chunk.deliveries : undefined);
      return;
    }
    if (now() >= nextTrimAt) {
      // Housekeeping, every claim interval: trim what every group acknowledged (and is past the
      // retention), drop dead consumers.
      nextTrimAt = now() + config.bridge.claimIntervalMs;
      if (config.bridge.streamTrim) {
        const removed = await trimStream(reader, stream, { ms: config.streamRetentionMs, now: now() });
        stats.trimmed += removed;
        if (removed > 0) blog.debug({ removed }, 'bridge: trimmed acknowledged entries');
      }
      const gone = await pruneIdleConsumers(reader, stream, group, consumer, CONSUMER_IDLE_PRUNE_MS);
      if (gone > 0)
        blog.info({ consumers: gone }, 'bridge: removed consumers idle for over an hour with nothing pending');
    }
    if (pendingCursor !== null) return readOwnPending(pendingCursor);
    await handle(await readGroup('>', true));
  }

  async function recover(err: unknown): Promise<void> {
    if (!isGroupGone(err)) return;
    // Entries of the old group: the re-created one reads them again if they are still there.
    inHand = undefined;
    // Resume after what this bridge handled; earlier entries other replicas may re-read are
    // deduplicated by job id.
    const from = stats.lastHandledId ?? '0';
    if (await ensureGroup(reader, stream, group, from)) {
      stats.groupRecreated++;
      blog.warn({ from }, 'bridge: consumer group was gone; re-created');
    }
  }

  const loop = (async () => {
    let backoff = 0;
    while (!stopping) {
      try {
        await step();
        backoff = 0;
        failingSince = undefined;
      } catch (err) {
        if (stopping) break;
        stats.errors++;
        failingSince ??= now();
        stats.lastError = errorMessage(err);
        backoff = Math.min(Math.max(MIN_BACKOFF_MS, backoff * 2), MAX_BACKOFF_MS);
        blog.error(
          { err: stats.lastError, retryInMs: backoff },
          'bridge: read or commit failed; entries read but not acknowledged stay pending and are read again',
        );
        // Whatever was read but not acknowledged is in this consumer's pending list (a failed
        // batch is also kept in hand and retried first).
        pendingCursor = '0';
        try {
          await recover(err);
        } catch (e) {
          blog.error({ err: errorMessage(e) }, 'bridge: could not re-create the consumer group');
        }
        await sleep(backoff);
      }
    }
  })();

  blog.info({ batchSize: config.bridge.batchSize, blockMs: config.bridge.blockMs }, 'bridge: started');

  return {
    name: 'bridge',
    stats: () => ({ ...stats }),
    async ready(): Promise<Readiness> {
      if (stopping) return { ok: false, detail: 'stopping' };
      if (failingSince !== undefined && now() - failingSince >= config.bridge.unhealthyAfterMs) {
        const seconds = Math.round((now() - failingSince) / 1000);
        return {
          ok: false,
          detail: `reads or commits on ${stream} have failed for ${seconds} s (WSS_BRIDGE_UNHEALTHY_AFTER_MS=${config.bridge.unhealthyAfterMs}); last error: ${stats.lastError}`,
        };
      }
      try {
        const groups = await withTimeout(listGroups(ctx.redis, stream), PROBE_TIMEOUT_MS, 'redis');
        if (!groups.some((g) => g.name === group))
          return { ok: false, detail: `consumer group "${group}" is missing on ${stream}` };
        return {
          ok: true,
          detail:
            stats.lastError && stats.errors > 0
              ? `reading ${stream}; last error: ${stats.lastError}`
              : `reading ${stream}`,
        };
      } catch (err) {
        return { ok: false, detail: `redis: ${errorMessage(err)}` };
      }
    },
    stop: once(async () => {
      stopping = true;
      wake?.();
      // The loop ends after the read or batch in hand (at most blockMs for an idle read).
      if (!(await settlesWithin(loop, config.shutdownGraceMs))) {
        blog.warn(
          { graceMs: config.shutdownGraceMs },
          'bridge: batch still in hand at the end of the grace period; its entries stay pending',
        );
      }
      reader.disconnect();
      await pool.close();
      await withTimeout(queues.close(), 2_000, 'queue close').catch(() => undefined);
      blog.info(stats, 'bridge: stopped');
    }),
  };
}
