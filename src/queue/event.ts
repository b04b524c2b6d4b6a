// Source messages (stream entries and the like) → events. Pure: the bridge dead-letters anything
// this refuses.
import { ID_PATTERN } from '../tenants/schema.js';
import { parseTraceparent, tracestateProblem } from '../tracing/context.js';
import type { TraceCarrier } from '../tracing/types.js';
import { orderingKeyProblem } from './ordering.js';

export interface WssEvent {
  /** The producer's id, else the source's (the stream entry id). Unique per tenant. */
  id: string;
  tenant: string;
  type: string;
  /** The `data` field as the producer wrote it (valid JSON text). */
  dataText: string;
  data: unknown;
  /** ISO time the event was created (a stream entry id's millisecond part). */
  createdAt: string;
  /** Milliseconds since the epoch, same instant as createdAt. */
  createdAtMs: number;
  /** The optional `priority` field: order within the tenant's fair share (docs/isolation.md). */
  priority: EventPriority;
  /** The producer's W3C trace context (`traceparent`, optional `tracestate` fields): the bridge continues it. */
  trace?: TraceCarrier;
  /** The optional `orderingKey` field: deliveries of one key to one endpoint go in order (docs/ordering.md). */
  orderingKey?: string;
}

const EVENT_PRIORITIES = ['high', 'normal', 'low'] as const;
type EventPriority = (typeof EVENT_PRIORITIES)[number];

type ParsedEntry = { ok: true; event: WssEvent } | { ok: false; kind: 'malformed' | 'too_large'; reason: string };

/** WSS_MAX_EVENT_BYTES's default: the largest `data` (UTF-8 bytes) an event may carry. */
export const DEFAULT_MAX_EVENT_BYTES = 262_144;

// ':' is refused because BullMQ job ids may not contain it.
export const EVENT_ID_PATTERN = /^[A-Za-z0-9._~-]{1,200}$/;
const TYPE_PATTERN = /^[A-Za-z0-9._:/-]{1,200}$/;

export function fieldsToRecord(fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!;
  return out;
}

export function entryTimeMs(entryId: string): number {
  const ms = Number(entryId.slice(0, entryId.indexOf('-') >>> 0));
  return Number.isSafeInteger(ms) ? ms : 0;
}

// V8's JSON.parse messages quote the input ("Unexpected token 'o', \"not json\" is not valid
// JSON"); reasons are logged, so only the position is kept, never the producer's bytes.
export function jsonErrorWhere(err: unknown): string {
  const m = err instanceof Error ? /at position (\d+)/.exec(err.message) : null;
  if (m) return ` (error at position ${m[1]})`;
  return err instanceof Error && /Unexpected end of JSON input/.test(err.message) ? ' (unexpected end)' : '';
}

const malformed = (reason: string): ParsedEntry => ({ ok: false, kind: 'malformed', reason });

/** Where a message came from: what stands for the event id when the producer gave none, and when it was created. */
export interface EnvelopeOrigin {
  defaultEventId: string;
  createdAtMs: number;
}

/** A stream entry's envelope: the entry id is the default event id, its time part the creation time. */
export function parseEntry(
  entryId: string,
  f: Readonly<Record<string, string>>,
  maxDataBytes = DEFAULT_MAX_EVENT_BYTES,
): ParsedEntry {
  return parseEnvelope(f, { defaultEventId: entryId, createdAtMs: entryTimeMs(entryId) }, maxDataBytes);
}

/**
 * The envelope of a message of any source, validated the same way whatever the source. `data`
 * over maxDataBytes (UTF-8) is refused before it is parsed: kind `too_large`.
 */
export function parseEnvelope(
  f: Readonly<Record<string, string>>,
  origin: EnvelopeOrigin,
  maxDataBytes = DEFAULT_MAX_EVENT_BYTES,
): ParsedEntry {
  const { tenant, type, data, id, priority, traceparent, tracestate, orderingKey } = f;
  if (tenant === undefined || tenant === '') return malformed('missing field "tenant"');
  if (!ID_PATTERN.test(tenant)) return malformed('field "tenant" is not a valid tenant id');
  if (type === undefined || type === '') return malformed('missing field "type"');
  if (!TYPE_PATTERN.test(type)) return malformed('field "type" must be 1-200 characters of A-Z a-z 0-9 . _ : / -');
  if (data === undefined) return malformed('missing field "data"');
  // A UTF-8 encoding is never shorter than the string's length, so most entries skip the count.
  if (data.length > maxDataBytes || (data.length * 3 > maxDataBytes && Buffer.byteLength(data) > maxDataBytes)) {
    return {
      ok: false,
      kind: 'too_large',
      reason: `field "data" is ${Buffer.byteLength(data)} bytes, more than WSS_MAX_EVENT_BYTES (${maxDataBytes})`,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch (err) {
    return malformed(`field "data" is not JSON${jsonErrorWhere(err)}`);
  }
  if (id !== undefined && !EVENT_ID_PATTERN.test(id)) {
    return malformed('field "id" must be 1-200 characters of A-Z a-z 0-9 . _ ~ -');
  }
  if (priority !== undefined && !(EVENT_PRIORITIES as readonly string[]).includes(priority)) {
    // The producer's value is not quoted: reasons are logged.
    return malformed('field "priority" must be "high", "normal" or "low"');
  }
  if (traceparent !== undefined && parseTraceparent(traceparent) === undefined)
    return malformed('field "traceparent" must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)');
  if (tracestate !== undefined) {
    const problem = tracestateProblem(tracestate);
    if (problem !== undefined) return malformed(`field "tracestate": ${problem}`);
    if (traceparent === undefined) return malformed('field "tracestate" needs a "traceparent"');
  }
  const keyProblem = orderingKey === undefined ? undefined : orderingKeyProblem(orderingKey);
  if (keyProblem !== undefined) return malformed(`field "orderingKey" ${keyProblem}`);
  const { createdAtMs } = origin;
  return {
    ok: true,
    event: {
      id: id ?? origin.defaultEventId,
      tenant,
      type,
      dataText: data.trim(),
      data: parsed,
      createdAt: new Date(createdAtMs).toISOString(),
      createdAtMs,
      priority: (priority as EventPriority | undefined) ?? 'normal',
      ...(traceparent === undefined
        ? {}
        : { trace: tracestate === undefined || tracestate === '' ? { traceparent } : { traceparent, tracestate } }),
      ...(orderingKey === undefined ? {} : { orderingKey }),
    },
  };
}

/** The envelope sent when an endpoint has no transform; `data` keeps the producer's bytes. */
export function envelopeBody(e: WssEvent): string {
  return `{"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)},"tenant":${JSON.stringify(e.tenant)},"createdAt":"${e.createdAt}","data":${e.dataText}}`;
}
