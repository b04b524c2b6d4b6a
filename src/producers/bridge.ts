// The bridge: stream entries → one delivery job per subscribed endpoint. One loop per process,
// on its own connection (XREADGROUP blocks). Nothing is acknowledged before its jobs exist, and
// any error leaves the entries pending to be read again: at-least-once reading, exactly-once
// jobs (deterministic job ids plus BullMQ deduplication with a TTL).
import type { Redis } from 'ioredis';
import { createDeliveryQueue } from '../queue.js';
import { ExpressionBreaker, expressionsOf } from '../tenants/expression-breaker.js';
import { createExpressionPool } from '../tenants/expression-trial.js';
import { withTimeout } from '../timeout.js';
import type { Readiness, RoleContext, RunningRole } from '../roles.js';
import { commitBatch, type BridgeHooks } from './commit-batch.js';
import { ensureGroup, isGroupGone, listGroups, pruneIdleConsumers } from './consumer-group.js';
import { planBatch } from './plan-batch.js';
import { maxStreamId } from './stream-id.js';
import { autoclaimReply, readGroupEntries, type StreamEntry } from './stream-reply.js';
import { trimStream } from './trim.js';

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
  /** Entries taken over from other consumers by XAUTOCLAIM. */
  claimed: number;
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
const READY_TIMEOUT_MS = 2_000;
// Consumers idle this long with nothing pending belong to bridges that are gone.
const CONSUMER_IDLE_PRUNE_MS = 3_600_000;

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function startBridge(ctx: RoleContext, opts: BridgeOptions = {}): Promise<RunningBridge> {
  const { config, log, registry, now } = ctx;
  const { stream, group, consumer } = config;
  const blog = log.child({ role: 'bridge', stream, group, consumer });

  await ensureGroup(ctx.redis, stream, group, '0');
  const reader: Redis = ctx.redis.duplicate();
  reader.on('error', (err: Error) => blog.debug({ err: err.message }, 'bridge: reader connection error'));
  const queue = createDeliveryQueue(ctx.redis, config.prefix);
  // The shared connection's own handler reports outages; without a listener BullMQ prints them.
  queue.on('error', (err: Error) => blog.debug({ err: err.message }, 'bridge: queue connection error'));
  const target = { queue, redis: reader, stream, group, deadLetterStream: config.deadLetterStream, log: blog, hooks: opts.hooks };
  const planOpts = { dedupTtlMs: config.dedupTtlMs, keepCompleted: config.keepCompleted };
  // Filters and transforms run in threads with limits; endpoints without them never touch it.
  const pool = createExpressionPool(config, blog);
  const breaker = new ExpressionBreaker({
    breakAfter: config.expr.breakAfter,
    now,
    log: blog,
    persist: async (tenant, endpoint, broken, expressions) => {
      await registry.updateEndpoint(tenant, endpoint, (cur) => (expressionsOf(cur) === expressions && cur.broken === undefined ? { ...cur, broken } : cur));
    },
  });

  const stats: BridgeStats = {
    batches: 0, entries: 0, jobs: 0, deadLetters: 0, unrouted: 0, errors: 0, claimed: 0, groupRecreated: 0, trimmed: 0,
    lastHandledId: undefined, lastError: undefined,
  };
  let stopping = false;
  // Own pending entries are read (from this id on) before new ones; null: read new entries.
  let pendingCursor: string | null = '0';
  let claimCursor = '0-0';
  let nextClaimAt = 0;
  let nextTrimAt = now() + config.claimIntervalMs;
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

  const endpointsOf = (tenant: string) => {
    const t = registry.snapshot().tenants.get(tenant);
    return t?.endpoints.values();
  };

  async function handle(entries: StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // A tenant added a moment ago may not be in this process's snapshot yet: look once more
    // before dead-lettering its events.
    const tenants = registry.snapshot().tenants;
    if (entries.some((e) => e.fields?.['tenant'] !== undefined && !tenants.has(e.fields['tenant']))) await registry.refresh();
    const plan = await planBatch(entries, endpointsOf, planOpts, { runner: pool, gate: breaker });
    await commitBatch(plan, target);
    await breaker.flush();
    stats.batches++;
    stats.entries += entries.length;
    stats.jobs += plan.jobs.length;
    stats.deadLetters += plan.dead.length;
    stats.unrouted += plan.unrouted;
    for (const e of entries) stats.lastHandledId = maxStreamId(stats.lastHandledId, e.id);
  }

  const readGroup = async (id: string, block: boolean) =>
    readGroupEntries(
      await reader.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', config.batchSize, ...(block ? ['BLOCK', config.blockMs] : []), 'STREAMS', stream, id),
    );

  async function step(): Promise<void> {
    if (now() >= nextClaimAt) {
      // Entries a dead consumer read but never acknowledged.
      const res = autoclaimReply(await reader.call('XAUTOCLAIM', stream, group, consumer, config.claimIdleMs, claimCursor, 'COUNT', config.batchSize));
      if (res.entries.length > 0) blog.info({ count: res.entries.length }, 'bridge: claimed entries idle in other consumers');
      await handle(res.entries);
      stats.claimed += res.entries.length;
      claimCursor = res.next;
      if (claimCursor === '0-0') nextClaimAt = now() + config.claimIntervalMs;
      return;
    }
    if (now() >= nextTrimAt) {
      // Housekeeping, every claim interval: trim what every group acknowledged, drop dead consumers.
      nextTrimAt = now() + config.claimIntervalMs;
      if (config.streamTrim) {
        const removed = await trimStream(reader, stream);
        stats.trimmed += removed;
        if (removed > 0) blog.debug({ removed }, 'bridge: trimmed acknowledged entries');
      }
      const gone = await pruneIdleConsumers(reader, stream, group, consumer, CONSUMER_IDLE_PRUNE_MS);
      if (gone > 0) blog.info({ consumers: gone }, 'bridge: removed consumers idle for over an hour with nothing pending');
    }
    if (pendingCursor !== null) {
      const entries = await readGroup(pendingCursor, false);
      const last = entries.at(-1);
      if (!last) {
        pendingCursor = null;
        return;
      }
      await handle(entries);
      pendingCursor = last.id;
      return;
    }
    await handle(await readGroup('>', true));
  }

  async function recover(err: unknown): Promise<void> {
    if (!isGroupGone(err)) return;
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
      } catch (err) {
        if (stopping) break;
        stats.errors++;
        stats.lastError = errMessage(err);
        backoff = Math.min(Math.max(MIN_BACKOFF_MS, backoff * 2), MAX_BACKOFF_MS);
        blog.error({ err: stats.lastError, retryInMs: backoff }, 'bridge: read or commit failed; entries read but not acknowledged stay pending and are read again');
        // Whatever was read but not acknowledged is in this consumer's pending list.
        pendingCursor = '0';
        try {
          await recover(err);
        } catch (e) {
          blog.error({ err: errMessage(e) }, 'bridge: could not re-create the consumer group');
        }
        await sleep(backoff);
      }
    }
  })();

  blog.info({ batchSize: config.batchSize, blockMs: config.blockMs }, 'bridge: started');

  let stopped: Promise<void> | undefined;
  return {
    name: 'bridge',
    stats: () => ({ ...stats }),
    async ready(): Promise<Readiness> {
      if (stopping) return { ok: false, detail: 'stopping' };
      try {
        const groups = await withTimeout(listGroups(ctx.redis, stream), READY_TIMEOUT_MS, 'redis');
        if (!groups.some((g) => g.name === group)) return { ok: false, detail: `consumer group "${group}" is missing on ${stream}` };
        return { ok: true, detail: stats.lastError && stats.errors > 0 ? `reading ${stream}; last error: ${stats.lastError}` : `reading ${stream}` };
      } catch (err) {
        return { ok: false, detail: `redis: ${errMessage(err)}` };
      }
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        wake?.();
        // The loop ends after the read or batch in hand (at most blockMs for an idle read).
        let graceTimer: NodeJS.Timeout | undefined;
        const grace = new Promise<boolean>((resolve) => (graceTimer = setTimeout(() => resolve(false), config.shutdownGraceMs)));
        const finished = await Promise.race([loop.then(() => true), grace]);
        clearTimeout(graceTimer);
        if (!finished) blog.warn({ graceMs: config.shutdownGraceMs }, 'bridge: batch still in hand at the end of the grace period; its entries stay pending');
        reader.disconnect();
        await pool.close();
        await withTimeout(queue.close(), 2_000, 'queue close').catch(() => undefined);
        blog.info(stats, 'bridge: stopped');
      })();
      return stopped;
    },
  };
}
