// Dead letters: entries the bridge cannot turn into jobs. The original fields are kept so an
// operator can fix and re-publish them; `reason` and `entryId` say why and which entry.
import type { StreamEntry } from '../redis/streams/stream-reply.js';

export type DeadLetterKind = 'malformed' | 'unknown_tenant' | 'expression' | 'too_large' | 'poison';

export interface DeadLetter {
  entryId: string;
  kind: DeadLetterKind;
  reason: string;
  /** Set when one endpoint's filter or transform failed; the others still got their jobs. */
  endpoint?: string;
  fields: Readonly<Record<string, string>>;
}

/** Flat XADD arguments. Our fields are added last and win over same-named original fields. */
export function deadLetterArgs(d: DeadLetter): string[] {
  const record: Record<string, string> = { ...d.fields, reason: d.reason, entryId: d.entryId };
  if (d.endpoint !== undefined) record['endpoint'] = d.endpoint;
  return Object.entries(record).flat();
}

export function deadLetterFor(entry: StreamEntry, kind: DeadLetterKind, reason: string, endpoint?: string): DeadLetter {
  return {
    entryId: entry.id,
    kind,
    reason,
    fields: entry.fields ?? {},
    ...(endpoint === undefined ? {} : { endpoint }),
  };
}

/**
 * An entry whose `data` is over WSS_MAX_EVENT_BYTES. The dead-letter stream is never trimmed,
 * so the oversize `data` is not copied into it (its size is recorded as `dataBytes`); the
 * producer still has the event.
 */
export function tooLargeDeadLetter(entry: StreamEntry, reason: string): DeadLetter {
  const { data, ...rest } = entry.fields ?? {};
  return {
    entryId: entry.id,
    kind: 'too_large',
    reason,
    fields: { ...rest, dataBytes: String(Buffer.byteLength(data ?? '')) },
  };
}
