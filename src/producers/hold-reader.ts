// The bridge's reads with hold-back (hold.ts) on a source that holds (the Redis Stream). Each
// call reads on (unless the held entries fill WSS_HOLD_MAX_BYTES), reads the lags of the tenants
// it sees (queue/fair-queues.ts), holds what is over WSS_HOLD_AFTER and gives back one batch:
// the fresh messages of tenants not held first, then held ones released, oldest first. What is
// held stays unacknowledged in the source and is kept ours (`keep`, every WSS_CLAIM_IDLE_MS / 3)
// so no other bridge takes it over and its delivery count does not grow. A crash leaves it
// pending, for the next bridge.
import type { Logger } from '../lib/log.js';
import { bridgeHeldEvents } from '../lib/metrics.js';
import type { FairShare } from '../queue/fair-queues.js';
import { Hold, holdKey, type HoldOptions, type Lags } from './hold.js';
import type { Source, SourceBatch, SourceMessage } from './sources/source.js';

export interface HoldReaderOptions extends HoldOptions {
  /** Most held messages released per batch (WSS_BATCH_SIZE). */
  maxRelease: number;
  /** How often held messages are kept ours (below WSS_CLAIM_IDLE_MS). */
  keepEveryMs: number;
}

/** How long a read waits for new messages while some are held: releases are looked at this often. */
export const HOLD_POLL_MS = 100;
/**
 * Most reads per call while everything read is held: the bridge reads past a backlog this many
 * batches at a time, between commits of what it releases, so a fresh event behind it is reached.
 */
export const HOLD_READ_AHEAD = 20;
// Ids per XCLAIM JUSTID when keeping held messages ours.
const KEEP_CHUNK = 1_000;

export class HoldReader {
  readonly hold: Hold;
  private nextKeepAt: number;

  constructor(
    private readonly source: Source,
    private readonly fair: FairShare,
    private readonly endpointIds: (tenant: string) => string[],
    private readonly o: HoldReaderOptions,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {
    this.hold = new Hold(o);
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
      const wait = i > 0 ? 1 : hold.size > 0 ? HOLD_POLL_MS : undefined;
      const batch = await source.next({ holding: hold, maxWaitMs: wait });
      // Poison is dead-lettered unplanned, never held (nothing fresh is in hand here).
      if (batch.poison) return batch;
      // Lags are read again only for a tenant not held yet (a backlog's reads cost no more).
      if (!lags || batch.messages.some((m) => this.unheld(m))) lags = await this.lags(batch.messages);
      fresh = hold.admit(batch.messages, lags);
      if (fresh.length > 0 || batch.messages.length === 0) break;
    }
    lags ??= await this.lags([]);
    const released = hold.release(lags, this.o.maxRelease);
    bridgeHeldEvents.set(hold.size);
    if (before === 0 && hold.size > 0)
      this.log.info(
        { held: hold.size, tenants: hold.keys() },
        'bridge: holding back entries of tenants with a backlog',
      );
    if (hold.full && fresh.length === 0 && released.length === 0)
      await new Promise((resolve) => setTimeout(resolve, HOLD_POLL_MS));
    return { messages: released.length === 0 ? fresh : [...fresh, ...released] };
  }

  /** A message of a tenant with nothing held: whether it is held depends on its lag. */
  private unheld(m: SourceMessage): boolean {
    const key = holdKey(m);
    return key !== undefined && !this.hold.holdsKey(key);
  }

  /** The lags of the tenants held and of those of `messages`. */
  private async lags(messages: readonly SourceMessage[]): Promise<Lags> {
    const tenants = new Set(this.hold.keys());
    for (const m of messages) {
      const key = holdKey(m);
      if (key !== undefined) tenants.add(key);
    }
    return tenants.size > 0 ? this.fair.lags(tenants, this.endpointIds) : new Map<string, number>();
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
