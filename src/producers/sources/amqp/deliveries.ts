// Which messages the AMQP source hands out next, from what it holds. Pure.
// A quorum queue counts, per message, how often it went back to the queue unacknowledged
// (`x-delivery-count`: a bridge died, its connection dropped or its channel closed while it
// held the message). As for the stream's pending entries (redis-stream/pending.ts):
// - returned 0 or 1 times: handled in batches as usual;
// - returned twice or more ("suspect": it was in hand at two losses, it may be the cause):
//   handled alone, and only once nothing else is coming in (the source stops its consumer
//   first), so a crash on it returns no neighbour with it;
// - returned WSS_MAX_ENTRY_DELIVERIES times: poison, dead-lettered unplanned.
// Each RabbitMQ return is one delivery that was never acknowledged, so the count compares with
// WSS_MAX_ENTRY_DELIVERIES the way XPENDING's delivery count does.

export type DeliveryKind = 'new' | 'returned' | 'suspect' | 'poison';

/** The `x-delivery-count` header as a number (0 when absent or not a count). */
export function returnsOf(headers: Readonly<Record<string, unknown>> | undefined): number {
  const v = headers?.['x-delivery-count'];
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** Classic queues count nothing: every message is new to them. */
export function deliveryKind(returns: number, maxDeliveries: number, counted: boolean): DeliveryKind {
  if (!counted || returns === 0) return 'new';
  if (returns >= maxDeliveries) return 'poison';
  return returns >= 2 ? 'suspect' : 'returned';
}

export interface Held<M> {
  kind: DeliveryKind;
  returns: number;
  bytes: number;
  message: M;
}

export interface Taken<M> {
  taken: Held<M>[];
  rest: Held<M>[];
  poison: boolean;
}

/**
 * The next batch from what is held, in arrival order within each kind: poison first (every one,
 * up to `batchSize`: they are only dead-lettered), then new and returned messages (up to
 * `batchSize` and `batchBytes`, at least one), then, when `suspectsAllowed`, one suspect alone.
 * Undefined when nothing may be taken now.
 */
export function takeBatch<M>(
  held: readonly Held<M>[],
  limits: { batchSize: number; batchBytes: number },
  suspectsAllowed: boolean,
): Taken<M> | undefined {
  const pick = (want: (h: Held<M>) => boolean, max: number, bytes = Infinity): Taken<M> | undefined => {
    const taken: Held<M>[] = [];
    const rest: Held<M>[] = [];
    let sum = 0;
    let full = false;
    for (const h of held) {
      if (!full && want(h)) full = taken.length >= max || (taken.length > 0 && sum + h.bytes > bytes);
      if (!full && want(h)) {
        taken.push(h);
        sum += h.bytes;
      } else rest.push(h);
    }
    return taken.length > 0 ? { taken, rest, poison: false } : undefined;
  };
  const poison = pick((h) => h.kind === 'poison', limits.batchSize);
  if (poison) return { ...poison, poison: true };
  const usual = pick((h) => h.kind === 'new' || h.kind === 'returned', limits.batchSize, limits.batchBytes);
  if (usual) return usual;
  return suspectsAllowed ? pick((h) => h.kind === 'suspect', 1) : undefined;
}
