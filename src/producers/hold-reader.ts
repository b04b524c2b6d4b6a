// The bridge's reads with hold-back (hold.ts) on a source that holds (the Redis Stream). Each
// call reads on (unless the held entries fill WSS_HOLD_MAX_BYTES), routes what it read to its
// flows (enabled endpoints subscribed to the type, as planning does, filters not run), reads
// the lags of those flows (queue/fair-queues.ts), holds what is bound for a flow over
// WSS_HOLD_AFTER and gives back one batch: the fresh messages first, then held ones released,
// oldest first. What is
// held stays unacknowledged in the source and is kept ours (`keep`, every WSS_CLAIM_IDLE_MS / 3)
// so no other bridge takes it over and its delivery count does not grow. A crash leaves it
// pending, for the next bridge.
import type { Logger } from '../lib/log.js';
import { bridgeHeldEvents } from '../lib/metrics.js';
import type { FairShare } from '../queue/fair-queues.js';
import { flowField } from '../queue/fair-share.js';
import type { CompiledEndpoint } from '../tenants/compile.js';
import { Hold, type HoldOptions, type Lags } from './hold.js';
import type { Source, SourceBatch, SourceMessage } from './sources/source.js';

/** A tenant endpoint. */
export interface Flow {
  tenant: string;
  endpoint: string;
}

/**
 * The flows a message would be planned for, from its tenant, type and priority (no filter run);
 * empty: never held (high priority, unknown tenant, no route, unreadable).
 */
export type RouteOf = (m: SourceMessage) => readonly Flow[];

/** The flows planning would give a message: its tenant's enabled endpoints subscribed to its type. */
export function routeByType(endpointsOf: (tenant: string) => Iterable<CompiledEndpoint> | undefined): RouteOf {
  return (m) => {
    const f = m.fields;
    const tenant = f?.['tenant'];
    const type = f?.['type'];
    if (!f || m.malformed !== undefined || !tenant || !type || f['priority'] === 'high') return [];
    const out: Flow[] = [];
    for (const e of endpointsOf(tenant) ?? [])
      if (e.config.enabled && e.subscribes(type)) out.push({ tenant, endpoint: e.config.id });
    return out;
  };
}

/**
 * Messages that will give ordered jobs (docs/ordering.md): they carry an `orderingKey`, or an
 * endpoint they are routed to derives one. Reading one flushes the hold.
 */
export function orderedBy(endpointsOf: (tenant: string) => Iterable<CompiledEndpoint> | undefined) {
  return (m: SourceMessage): boolean => {
    const f = m.fields;
    if (!f) return false;
    if (f['orderingKey'] !== undefined) return true;
    const tenant = f['tenant'];
    const type = f['type'];
    if (!tenant || !type) return false;
    for (const e of endpointsOf(tenant) ?? [])
      if (e.config.orderingKey !== undefined && e.config.enabled && e.subscribes(type)) return true;
    return false;
  };
}

/** The bridge's HoldReader, or undefined where hold-back is off or the source cannot hold. */
export function createHoldReader(
  cfg: { holdAfter: number; holdMaxBytes: number; batchSize: number; claimIdleMs: number },
  source: Source,
  fair: FairShare,
  endpointsOf: (tenant: string) => Iterable<CompiledEndpoint> | undefined,
  now: () => number,
  log: Logger,
): HoldReader | undefined {
  if (!source.holds || cfg.holdAfter <= 0) return undefined;
  return new HoldReader(
    source,
    fair,
    routeByType(endpointsOf),
    {
      holdAfter: cfg.holdAfter,
      maxBytes: cfg.holdMaxBytes,
      idsOnly: source.refetch !== undefined,
      maxRelease: holdReleaseMax(cfg.holdAfter, cfg.batchSize),
      keepEveryMs: Math.floor(cfg.claimIdleMs / 3),
      ordered: orderedBy(endpointsOf),
      flushRelease: cfg.batchSize,
    },
    now,
    log,
  );
}

export interface HoldReaderOptions extends HoldOptions {
  /** Most held messages released per batch (holdReleaseMax). */
  maxRelease: number;
  /** How often held messages are kept ours (below WSS_CLAIM_IDLE_MS). */
  keepEveryMs: number;
  /** A message that will give ordered jobs (docs/ordering.md): reading one flushes the hold. */
  ordered?: (m: SourceMessage) => boolean;
  /** Most held messages released per batch during a flush (WSS_BATCH_SIZE). */
  flushRelease?: number;
}

/** How long a read waits for new messages while some are held: releases are looked at this often. */
export const HOLD_POLL_MS = 100;
/**
 * Most reads per call while everything read is held: the bridge reads past a backlog this many
 * batches at a time, between commits of what it releases, so a fresh event behind it is reached.
 */
export const HOLD_READ_AHEAD = 20;
/**
 * A read after one that was all held asks for this many times the usual count: round trips, not
 * entries, are what a busy machine makes slow (a fresh part of it is planned as one batch).
 */
export const HOLD_READ_SCALE = 10;
// Ids per XCLAIM JUSTID when keeping held messages ours.
const KEEP_CHUNK = 1_000;

/**
 * Held messages released per batch: small batches (a twentieth of WSS_HOLD_AFTER, ten or so
 * between the marks), so a fresh event read meanwhile waits for a short commit, not a full one.
 * The bench measured 100 against 250 (an eighth, before): quiet tenants' p99 beside a backlog
 * in the stream 64 / 64 ms against 83 / 99 ms; drain and pipeline throughput within the spread
 * (docs/performance.md, issue 23's third pass).
 */
export function holdReleaseMax(holdAfter: number, batchSize: number): number {
  return Math.max(1, Math.min(batchSize, Math.ceil(holdAfter / 20)));
}

export class HoldReader {
  readonly hold: Hold;
  private nextKeepAt: number;
  private releasing = false;
  private flushEnded = false;
  /** Each message's flow keys, routed once. */
  private readonly routed = new WeakMap<SourceMessage, readonly string[]>();
  /** The flow behind each key seen (as many as the registry has endpoints). */
  private readonly flows = new Map<string, Flow>();

  constructor(
    private readonly source: Source,
    private readonly fair: FairShare,
    private readonly routeOf: RouteOf,
    private readonly o: HoldReaderOptions,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {
    this.hold = new Hold(o, (m) => this.keysOf(m));
    this.nextKeepAt = now() + o.keepEveryMs;
  }

  /** The next batch to handle (possibly empty). Throws when the source or Redis fails. */
  async next(): Promise<SourceBatch> {
    const { hold, source } = this;
    if (hold.size > 0 && this.now() >= this.nextKeepAt) await this.keepHeld();
    const before = hold.size;
    let fresh: SourceMessage[] = [];
    let lags: Lags | undefined;
    // Read on while all that is read is held (a backlog), up to HOLD_READ_AHEAD reads.
    for (let i = 0; i < HOLD_READ_AHEAD && !hold.full; i++) {
      // While held entries are flowing out, a read never waits for new ones.
      const wait = i > 0 || this.releasing ? 1 : hold.size > 0 ? HOLD_POLL_MS : undefined;
      const batch = await source.next({ holding: hold, maxWaitMs: wait, scale: i > 0 ? HOLD_READ_SCALE : 1 });
      // Poison is dead-lettered unplanned, never held (nothing fresh is in hand here).
      if (batch.poison) return batch;
      // Lags are read again only for a flow not held yet (a backlog's reads cost no more).
      if (!lags || batch.messages.some((m) => this.unheld(m))) lags = await this.lags(batch.messages);
      fresh = hold.admit(batch.messages, lags);
      // Ordered jobs wait for the watermark, which a held message keeps below them.
      if (this.o.ordered && hold.size > 0 && batch.messages.some(this.o.ordered)) {
        if (!hold.flushing)
          this.log.info({ held: hold.size }, 'bridge: an ordered event was read; releasing the entries held before it');
        // A flush under way is extended to what is held now.
        hold.flush();
      }
      if (fresh.length > 0 || batch.messages.length === 0) break;
    }
    lags ??= await this.lags([]);
    // A flush goes a full batch at a time: the ordered job behind it waits for all of it.
    const flushing = hold.flushing;
    let released = hold.release(lags, flushing ? (this.o.flushRelease ?? this.o.maxRelease) : this.o.maxRelease);
    if (flushing && !hold.flushing) this.flushEnded = true;
    this.releasing = released.length > 0;
    // Kept by id only: their fields again. A failure leaves them pending (not held any more),
    // so the source's re-read after the error hands them out again.
    if (this.o.idsOnly && released.length > 0) released = await source.refetch!(released);
    bridgeHeldEvents.set(hold.size);
    if (before === 0 && hold.size > 0)
      this.log.info(
        { held: hold.size, flows: hold.keys() },
        'bridge: holding back entries bound for flows with a backlog',
      );
    if (hold.full && fresh.length === 0 && released.length === 0)
      await new Promise((resolve) => setTimeout(resolve, HOLD_POLL_MS));
    return { messages: released.length === 0 ? fresh : [...fresh, ...released] };
  }

  private keysOf(m: SourceMessage): readonly string[] {
    let keys = this.routed.get(m);
    if (!keys) {
      keys = this.routeOf(m).map((f) => {
        const key = flowField(f.tenant, f.endpoint);
        if (!this.flows.has(key)) this.flows.set(key, f);
        return key;
      });
      this.routed.set(m, keys);
    }
    return keys;
  }

  /** A message bound for a flow with nothing held: whether it is held depends on its lag. */
  private unheld(m: SourceMessage): boolean {
    return this.keysOf(m).some((k) => !this.hold.holdsKey(k));
  }

  /** The lags of the flows held and of those `messages` are bound for. */
  private async lags(messages: readonly SourceMessage[]): Promise<Lags> {
    const keys = new Set(this.hold.keys());
    for (const m of messages) for (const k of this.keysOf(m)) keys.add(k);
    return keys.size > 0 ? this.fair.lags([...keys].map((k) => this.flows.get(k)!)) : new Map<string, number>();
  }

  /**
   * True once after the batch that ended a flush: once it is committed, the watermark may have
   * passed ordered jobs, so the bridge looks for releases at once.
   */
  takeFlushEnd(): boolean {
    const ended = this.flushEnded;
    this.flushEnded = false;
    return ended;
  }

  /** The source forgot what it handed out (a re-created group): it delivers them again. */
  clear(): void {
    this.hold.clear();
    bridgeHeldEvents.set(0);
  }

  /** Resets the held messages' idle time in the source; drops those no longer ours. */
  private async keepHeld(): Promise<void> {
    const all = this.hold.messages();
    let dropped = 0;
    for (let i = 0; i < all.length; i += KEEP_CHUNK) {
      const chunk = all.slice(i, i + KEEP_CHUNK);
      const kept = await this.source.keep({ messages: chunk });
      dropped += this.hold.retain(new Set(kept.messages.map((m) => m.id)), chunk);
    }
    this.nextKeepAt = this.now() + this.o.keepEveryMs;
    if (dropped > 0)
      this.log.warn({ dropped }, 'bridge: held entries were no longer ours (taken over or acknowledged)');
    bridgeHeldEvents.set(this.hold.size);
  }
}
