// Dead letters: messages the bridge cannot turn into jobs, written to the dead-letter stream
// whatever the source. The original fields are kept so an operator can fix and re-publish them;
// `reason` and `entryId` (the source's own reference to the message) say why and which message.
import type { SourceMessage } from './sources/source.js';

type DeadLetterKind = 'malformed' | 'unknown_tenant' | 'expression' | 'too_large' | 'poison';

export interface DeadLetter {
  /** The source's reference to the message (a stream entry id). */
  entryId: string;
  /** The message's event id when the producer gave none, and its creation time (the delivery log). */
  defaultEventId: string;
  createdAtMs: number;
  kind: DeadLetterKind;
  reason: string;
  /** Set when one endpoint's filter or transform failed; the others still got their jobs. */
  endpoint?: string;
  fields: Readonly<Record<string, string>>;
}

/** Flat XADD arguments. Our fields are added last and win over same-named original fields. */
export function deadLetterArgs(d: Pick<DeadLetter, 'entryId' | 'kind' | 'reason' | 'endpoint' | 'fields'>): string[] {
  const record: Record<string, string> = { ...d.fields, reason: d.reason, entryId: d.entryId };
  if (d.endpoint !== undefined) record['endpoint'] = d.endpoint;
  return Object.entries(record).flat();
}

export function deadLetterFor(
  entry: SourceMessage,
  kind: DeadLetterKind,
  reason: string,
  endpoint?: string,
): DeadLetter {
  return {
    entryId: entry.id,
    defaultEventId: entry.defaultEventId,
    createdAtMs: entry.createdAtMs,
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
export function tooLargeDeadLetter(entry: SourceMessage, reason: string): DeadLetter {
  const { data, ...rest } = entry.fields ?? {};
  return {
    entryId: entry.id,
    defaultEventId: entry.defaultEventId,
    createdAtMs: entry.createdAtMs,
    kind: 'too_large',
    reason,
    fields: { ...rest, dataBytes: String(Buffer.byteLength(data ?? '')) },
  };
}
