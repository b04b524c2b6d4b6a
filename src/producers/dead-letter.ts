// Dead letters: entries the bridge cannot turn into jobs. The original fields are kept so an
// operator can fix and re-publish them; `reason` and `entryId` say why and which entry.
import type { StreamEntry } from './stream-reply.js';

export type DeadLetterKind = 'malformed' | 'unknown_tenant' | 'expression' | 'poison';

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
  return { entryId: entry.id, kind, reason, fields: entry.fields ?? {}, ...(endpoint === undefined ? {} : { endpoint }) };
}
