// Raw XREADGROUP / XCLAIM replies (RESP2) into entries. A null field list means the entry
// was deleted from the stream while it was still pending.
import { fieldsToRecord } from '../../queue/event.js';

export interface StreamEntry {
  id: string;
  fields: Record<string, string> | null;
}

function toEntries(items: unknown): StreamEntry[] {
  if (!Array.isArray(items)) return [];
  const out: StreamEntry[] = [];
  for (const item of items) {
    if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
    const fields: unknown = item[1];
    out.push({ id: item[0], fields: Array.isArray(fields) ? fieldsToRecord(fields.map(String)) : null });
  }
  return out;
}

/**
 * XREADGROUP on one stream. RESP2 gives `[[stream, items]]`; RESP3 (ioredis 6's default) gives
 * a map, which ioredis hands over flattened as `[stream, items]`. Null when nothing came.
 */
export function readGroupEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first: unknown = reply[0];
  if (typeof first === 'string') return toEntries(reply[1]);
  return Array.isArray(first) ? toEntries(first[1]) : [];
}

/** XCLAIM: `[[id, fields], …]`. Redis ≥ 7 drops deleted entries from the PEL and leaves them out. */
export function claimReply(reply: unknown): StreamEntry[] {
  return toEntries(reply).filter((e) => e.fields !== null);
}

/** XRANGE: `[[id, fields], …]`. */
export function rangeEntries(reply: unknown): StreamEntry[] {
  return toEntries(reply);
}
