// How many entries the bridge asks for per read. XREADGROUP bounds a read by COUNT only, so a
// run of large entries at WSS_BATCH_SIZE each could hold gigabytes at once. Each read's COUNT
// is set from the previous read: as many entries of its average size as fit WSS_BATCH_BYTES.

/** What a read holds: its messages' fields (null: the message vanished). */
type Read = ReadonlyArray<{ fields: Readonly<Record<string, string>> | null }>;

/** UTF-8 bytes of the entries' field names and values: what one read holds. */
export function entryBytes(entries: Read): number {
  let bytes = 0;
  for (const e of entries) {
    if (e.fields === null) continue;
    for (const k in e.fields) bytes += Buffer.byteLength(k) + Buffer.byteLength(e.fields[k]!);
  }
  return bytes;
}

/**
 * The COUNT for the next read, from 1 to maxCount. An empty read says nothing about sizes, so
 * the current count stays.
 */
export function nextReadCount(last: Read, budgetBytes: number, maxCount: number, current: number): number {
  if (last.length === 0) return current;
  const average = Math.max(1, entryBytes(last) / last.length);
  return Math.min(maxCount, Math.max(1, Math.floor(budgetBytes / average)));
}
