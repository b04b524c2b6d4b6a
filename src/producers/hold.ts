// Hold-back: fairness from the source. The bridge reads its source in order, so a tenant's
// backlog still in the source would be planned and queued ahead of every other tenant's fresh
// event (queue-level fair share cannot reorder an event not yet read). With a Source that holds
// (`holds`: the Redis Stream), the bridge stops committing a tenant's messages while the tenant
// already has more than WSS_HOLD_AFTER jobs queued, keeps them here unacknowledged (they stay in
// the source's pending list: a crash gives them to another bridge) and reads on, so another
// tenant's fresh event is reached and committed at once. Pure: lags come in, decisions go out.
// Guarantees:
// - a tenant's messages are committed in the order they were read: once one is held, every later
//   one of that tenant is held behind it (high-priority ones excepted: they overtake queued
//   normal jobs anyway, docs/isolation.md);
// - hysteresis: a tenant is held from a lag over holdAfter until its lag is under holdAfter / 2;
//   then its held messages go back, oldest first, at most holdAfter - lag at a time;
// - memory: the held messages' fields are counted in bytes; over maxBytes the bridge stops
//   reading ahead (it never drops a held message).
import type { HeldMessages, SourceMessage } from './sources/source.js';
import { entryBytes } from './sources/redis-stream/read-budget.js';

export interface HoldOptions {
  /** Hold a tenant's messages while it has more than this many jobs queued (> 0). */
  holdAfter: number;
  /** Bytes of held messages' fields past which the bridge reads no further ahead. */
  maxBytes: number;
}

/** A tenant's queued jobs now (fair-share lag); absent: none. */
export type Lags = ReadonlyMap<string, number>;

// Per held message beyond its fields: the id, the object, the map entries.
const OVERHEAD_BYTES = 160;

interface Held {
  seq: number;
  message: SourceMessage;
  bytes: number;
}

/** The tenant a message is held under; undefined: never held (it is dead-lettered or overtakes). */
export function holdKey(m: SourceMessage): string | undefined {
  const f = m.fields;
  if (f === null || m.malformed !== undefined) return undefined;
  const tenant = f['tenant'];
  if (tenant === undefined || tenant === '' || f['priority'] === 'high') return undefined;
  return tenant;
}

export class Hold implements HeldMessages {
  private readonly byKey = new Map<string, Held[]>();
  private readonly ids = new Map<string, Held>();
  /** Tenants over holdAfter and not yet back under holdAfter / 2. */
  private readonly holding = new Set<string>();
  private seq = 0;
  private heldBytes = 0;

  constructor(private readonly o: HoldOptions) {}

  get size(): number {
    return this.ids.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** Over the byte budget: read no further ahead until some are released. */
  get full(): boolean {
    return this.heldBytes >= this.o.maxBytes;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** The oldest held message's id (read first), or undefined. */
  get oldest(): string | undefined {
    let best: Held | undefined;
    for (const list of this.byKey.values()) if (list[0] && (!best || list[0].seq < best.seq)) best = list[0];
    return best?.message.id;
  }

  /** True when the tenant has held messages: its next ones are held whatever its lag. */
  holdsKey(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Tenants with held messages. */
  keys(): string[] {
    return [...this.byKey.keys()];
  }

  /** Every held message, oldest first (to keep them ours in the source). */
  messages(): SourceMessage[] {
    return [...this.ids.values()].sort((a, b) => a.seq - b.seq).map((h) => h.message);
  }

  /**
   * Messages just read: those to commit now, in their order; the rest are held. A tenant's lag
   * counts the messages admitted before it in the same batch (one job each, at least).
   */
  admit(messages: readonly SourceMessage[], lags: Lags): SourceMessage[] {
    const out: SourceMessage[] = [];
    const admitted = new Map<string, number>();
    for (const m of messages) {
      const key = holdKey(m);
      if (key === undefined) {
        out.push(m);
        continue;
      }
      const lag = (lags.get(key) ?? 0) + (admitted.get(key) ?? 0);
      if (lag > this.o.holdAfter) this.holding.add(key);
      if (this.holding.has(key) || this.byKey.has(key)) this.put(key, m);
      else {
        out.push(m);
        admitted.set(key, (admitted.get(key) ?? 0) + 1);
      }
    }
    return out;
  }

  /**
   * Held messages to commit now, oldest first, at most `max`: of tenants whose lag fell under
   * holdAfter / 2 (or that are not held any more), each up to holdAfter - lag.
   */
  release(lags: Lags, max: number): SourceMessage[] {
    const room = new Map<string, number>();
    for (const key of this.byKey.keys()) {
      const lag = lags.get(key) ?? 0;
      if (lag > this.o.holdAfter) this.holding.add(key);
      else if (lag < this.o.holdAfter / 2) this.holding.delete(key);
      if (!this.holding.has(key)) room.set(key, Math.max(1, this.o.holdAfter - lag));
    }
    const out: SourceMessage[] = [];
    const cursor = new Map<string, number>();
    while (out.length < max) {
      let best: Held | undefined;
      let bestKey: string | undefined;
      for (const [key, n] of room) {
        const h = this.byKey.get(key)![cursor.get(key) ?? 0];
        if (n > 0 && h && (!best || h.seq < best.seq)) [best, bestKey] = [h, key];
      }
      if (!best || bestKey === undefined) break;
      out.push(best.message);
      cursor.set(bestKey, (cursor.get(bestKey) ?? 0) + 1);
      room.set(bestKey, room.get(bestKey)! - 1);
    }
    for (const [key, n] of cursor) {
      const list = this.byKey.get(key)!;
      for (const h of list.splice(0, n)) this.forget(h);
      if (list.length === 0) this.byKey.delete(key);
    }
    return out;
  }

  /** Keeps only the held messages whose ids are given (the others are no longer ours). */
  retain(ids: ReadonlySet<string>, among: readonly SourceMessage[]): number {
    let dropped = 0;
    for (const m of among) {
      const h = this.ids.get(m.id);
      if (!h || ids.has(m.id)) continue;
      const key = holdKey(m)!;
      const list = this.byKey.get(key)!;
      list.splice(list.indexOf(h), 1);
      if (list.length === 0) this.byKey.delete(key);
      this.forget(h);
      dropped++;
    }
    return dropped;
  }

  /** Drops everything held (the source no longer counts them ours; it delivers them again). */
  clear(): void {
    this.byKey.clear();
    this.ids.clear();
    this.holding.clear();
    this.heldBytes = 0;
  }

  private put(key: string, message: SourceMessage): void {
    const h: Held = { seq: this.seq++, message, bytes: entryBytes([message]) + OVERHEAD_BYTES };
    const list = this.byKey.get(key);
    if (list) list.push(h);
    else this.byKey.set(key, [h]);
    this.ids.set(message.id, h);
    this.heldBytes += h.bytes;
  }

  private forget(h: Held): void {
    this.ids.delete(h.message.id);
    this.heldBytes -= h.bytes;
  }
}
