// The group's pending entries (read, not acknowledged) and how many times each was delivered.
// Pure: parsing XPENDING and choosing the next chunk to take over (nextChunk also serves the
// sources that count deliveries otherwise: JetStream's num_delivered, the outbox's attempts column).
export interface PendingEntry {
  id: string;
  consumer: string;
  idleMs: number;
  /** Times delivered (XREADGROUP with an id and XCLAIM count too; '>' reads start at 1). */
  deliveries: number;
}

/** The extended XPENDING reply: `[[id, consumer, idle, deliveries], …]`. */
export function parsePending(reply: unknown): PendingEntry[] {
  if (!Array.isArray(reply)) return [];
  const out: PendingEntry[] = [];
  for (const item of reply) {
    if (!Array.isArray(item) || item.length < 4) continue;
    out.push({ id: String(item[0]), consumer: String(item[1]), idleMs: Number(item[2]), deliveries: Number(item[3]) });
  }
  return out;
}

export interface Chunk<T = PendingEntry> {
  entries: T[];
  /** Delivered maxDeliveries times without acknowledgement: dead-letter, never plan again. */
  poison: boolean;
}

/**
 * The next entries to handle from a pending list (in id order). An entry delivered once and
 * not acknowledged was in hand when a bridge died (or hung) once; the whole run of those is
 * taken together. An entry delivered twice or more was in hand at two deaths: it may be the
 * cause, so it is taken alone; then a crash on it touches no other entry and its neighbours
 * do not grow their own counts towards the bound. Entries at the bound come as a poison run.
 */
export function nextChunk<T extends Pick<PendingEntry, 'deliveries'> = PendingEntry>(
  list: readonly T[],
  maxDeliveries: number,
): Chunk<T> | undefined {
  const first = list[0];
  if (!first) return undefined;
  if (first.deliveries >= maxDeliveries)
    return { entries: leadingRun(list, (p) => p.deliveries >= maxDeliveries), poison: true };
  if (first.deliveries >= 2) return { entries: [first], poison: false };
  return { entries: leadingRun(list, (p) => p.deliveries < 2), poison: false };
}

function leadingRun<T>(list: readonly T[], keep: (p: T) => boolean): T[] {
  const out: T[] = [];
  for (const p of list) {
    if (!keep(p)) break;
    out.push(p);
  }
  return out;
}
