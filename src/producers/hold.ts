// Hold-back: fairness from the source. The bridge reads its source in order, so a backlog still
// in the source would be planned and queued ahead of every other tenant's fresh event
// (queue-level fair share cannot reorder an event not yet read). With a Source that holds
// (`holds`: the Redis Stream), the bridge stops committing the messages bound for a flow (a
// tenant endpoint, queue/fair-share.ts) while that flow already lags more than WSS_HOLD_AFTER
// jobs, keeps them here unacknowledged (they stay in the source's pending list: a crash gives
// them to another bridge) and reads on, so a fresh event of another flow is reached and
// committed at once. Pure: keys and lags come in, decisions go out. Guarantees:
// - a flow's messages are committed in the order they were read: once one is held, every later
//   one bound for that flow is held behind it, and a message goes only when it is the oldest
//   held one of each of its flows (messages without keys are never held: high priority, no
//   route, unreadable);
// - hysteresis: a flow is held from a lag over holdAfter until its lag is under holdAfter / 2;
//   then its held messages go, oldest first, at most holdAfter - lag at a time;
// - memory: the held messages' fields are counted in bytes; over maxBytes the bridge stops
//   reading ahead (it never drops a held message);
// - ordering keys yield nothing: ordered jobs are released only below the source's watermark,
//   its oldest pending message (docs/ordering.md), and a held message is pending. So when an
//   ordered message is read, everything held before it is flushed (`flush`): released oldest
//   first whatever its flow's lag, a batch at a time, and that backlog falls back to the
//   queue-level fair-share bound (docs/isolation.md).
import type { HeldMessages, SourceMessage } from './sources/source.js';
import { entryBytes } from './sources/redis-stream/read-budget.js';

export interface HoldOptions {
  /** Hold a flow's messages while it lags more than this many jobs (> 0). */
  holdAfter: number;
  /** Bytes of held messages (as counted here) past which the bridge reads no further ahead. */
  maxBytes: number;
  /**
   * Keep held messages by id only (their fields read again on release: Source.refetch), so a
   * long backlog costs little memory. Default: keep them whole.
   */
  idsOnly?: boolean;
}

/** A flow's lag now (queue/fair-queues.ts `lags`); absent: none. */
export type Lags = ReadonlyMap<string, number>;

/** The flows a message is bound for; empty: it is never held. */
export type KeysOf = (m: SourceMessage) => readonly string[];

// Per held message beyond its fields: the id, the objects, the map entries. The bench measured
// about 1.8 KB of bridge RSS per held entry kept whole with ~400 B of fields (GC slack
// included); kept by id only, the estimate is a quarter of that.
const OVERHEAD_BYTES = 1_024;
const ID_ONLY_BYTES = 256;

interface Held {
  message: SourceMessage;
  keys: readonly string[];
  bytes: number;
}

export class Hold implements HeldMessages {
  /** Held messages by id, in the order they were read (Map keeps insertion order). */
  private readonly held = new Map<string, Held>();
  /** Held messages per flow. */
  private readonly perKey = new Map<string, number>();
  /** Flows over holdAfter and not yet back under holdAfter / 2. */
  private readonly holding = new Set<string>();
  private heldBytes = 0;
  /** The newest message of a flush: it and every message held before it go regardless of lag. */
  private flushUntil: string | undefined;

  constructor(
    private readonly o: HoldOptions,
    private readonly keysOf: KeysOf,
  ) {}

  get size(): number {
    return this.held.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** Over the byte budget: read no further ahead until some are released. */
  get full(): boolean {
    return this.heldBytes >= this.o.maxBytes;
  }

  has(id: string): boolean {
    return this.held.has(id);
  }

  /** The oldest held message's id (read first), or undefined. */
  get oldest(): string | undefined {
    for (const id of this.held.keys()) return id;
    return undefined;
  }

  /** True when the flow has held messages: its next ones are held whatever its lag. */
  holdsKey(key: string): boolean {
    return this.perKey.has(key);
  }

  /** Flows with held messages. */
  keys(): string[] {
    return [...this.perKey.keys()];
  }

  /** Every held message, oldest first (to keep them ours in the source). */
  messages(): SourceMessage[] {
    return [...this.held.values()].map((h) => h.message);
  }

  /**
   * Messages just read: those to commit now, in their order; the rest are held. A flow's lag
   * counts the messages admitted before it in the same batch (one job each).
   */
  admit(messages: readonly SourceMessage[], lags: Lags): SourceMessage[] {
    const out: SourceMessage[] = [];
    const admitted = new Map<string, number>();
    for (const m of messages) {
      const keys = this.keysOf(m);
      for (const k of keys) if ((lags.get(k) ?? 0) + (admitted.get(k) ?? 0) > this.o.holdAfter) this.holding.add(k);
      if (keys.some((k) => this.holding.has(k) || this.perKey.has(k))) this.put(m, keys);
      else {
        out.push(m);
        for (const k of keys) admitted.set(k, (admitted.get(k) ?? 0) + 1);
      }
    }
    return out;
  }

  /**
   * Held messages to commit now, oldest first, at most `max`: those whose every flow's lag fell
   * under holdAfter / 2 (or is not held any more), each flow up to holdAfter - lag, and none
   * ahead of an older message of the same flow still held.
   */
  release(lags: Lags, max: number): SourceMessage[] {
    if (this.flushUntil !== undefined) return this.releaseFlush(max);
    const room = new Map<string, number>();
    for (const key of this.perKey.keys()) {
      const lag = lags.get(key) ?? 0;
      if (lag > this.o.holdAfter) this.holding.add(key);
      else if (lag < this.o.holdAfter / 2) this.holding.delete(key);
      room.set(key, this.holding.has(key) ? 0 : Math.max(1, this.o.holdAfter - lag));
    }
    const out: Held[] = [];
    const blocked = new Set<string>();
    for (const h of this.held.values()) {
      if (out.length >= max || blocked.size >= this.perKey.size) break;
      if (h.keys.some((k) => blocked.has(k) || room.get(k)! <= 0)) {
        for (const k of h.keys) blocked.add(k);
        continue;
      }
      out.push(h);
      for (const k of h.keys) room.set(k, room.get(k)! - 1);
    }
    for (const h of out) this.forget(h);
    return out.map((h) => h.message);
  }

  /**
   * Everything held now is to go, oldest first, `max` per release, whatever the lags (an ordered
   * message was read behind it). Messages held later are not part of it.
   */
  flush(): void {
    let last: string | undefined;
    for (const id of this.held.keys()) last = id;
    if (last !== undefined) this.flushUntil = last;
  }

  /** True while a flush has messages left. */
  get flushing(): boolean {
    return this.flushUntil !== undefined;
  }

  private releaseFlush(max: number): SourceMessage[] {
    const out: Held[] = [];
    for (const h of this.held.values()) {
      if (out.length >= max) break;
      out.push(h);
      if (h.message.id === this.flushUntil) {
        this.flushUntil = undefined;
        break;
      }
    }
    for (const h of out) this.forget(h);
    // The flush's last message is no longer held (taken over, or gone with a retain).
    if (this.flushUntil !== undefined && !this.held.has(this.flushUntil)) this.flushUntil = undefined;
    return out.map((h) => h.message);
  }

  /** Keeps only the held messages whose ids are given (the others are no longer ours). */
  retain(ids: ReadonlySet<string>, among: readonly SourceMessage[]): number {
    let dropped = 0;
    for (const m of among) {
      const h = this.held.get(m.id);
      if (!h || ids.has(m.id)) continue;
      this.forget(h);
      dropped++;
    }
    return dropped;
  }

  /** Drops everything held (the source no longer counts them ours; it delivers them again). */
  clear(): void {
    this.held.clear();
    this.perKey.clear();
    this.holding.clear();
    this.heldBytes = 0;
    this.flushUntil = undefined;
  }

  private put(message: SourceMessage, keys: readonly string[]): void {
    const h: Held = this.o.idsOnly
      ? { message: { ...message, fields: null }, keys, bytes: ID_ONLY_BYTES }
      : { message, keys, bytes: entryBytes([message]) + OVERHEAD_BYTES };
    this.held.set(message.id, h);
    for (const k of keys) this.perKey.set(k, (this.perKey.get(k) ?? 0) + 1);
    this.heldBytes += h.bytes;
  }

  private forget(h: Held): void {
    this.held.delete(h.message.id);
    for (const k of h.keys) {
      const n = this.perKey.get(k)! - 1;
      if (n > 0) this.perKey.set(k, n);
      else this.perKey.delete(k);
    }
    this.heldBytes -= h.bytes;
  }
}
