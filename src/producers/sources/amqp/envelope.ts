// An AMQP message as an envelope, and an envelope as an AMQP message body. Pure.
// - The body is the envelope as one JSON object (`tenant`, `type`, `data` any JSON value,
//   optional `id`, `priority`, …). It becomes the same string fields a stream entry carries
//   (`data` as JSON text), so queue/event.ts validates it exactly as it validates stream
//   entries. `data` keeps the producer's own bytes (no re-serialisation: 64-bit integers and
//   number formats reach the receiver unchanged), like a stream entry's.
// - The event id when the envelope has none: the AMQP `messageId` property, else a hash of the
//   body and the `timestamp` property (deterministic, so a redelivery adds no job twice).
// - The creation time: the `timestamp` property, else when the bridge first saw the message.
import { createHash } from 'node:crypto';
import { EVENT_ID_PATTERN, jsonErrorWhere } from '../../../queue/event.js';

export type BodyFields = { ok: true; fields: Record<string, string> } | { ok: false; reason: string };

// Envelope fields that must be text when present (null counts as absent).
const TEXT_FIELDS = new Set(['tenant', 'type', 'id', 'priority', 'traceparent', 'tracestate', 'orderingKey']);

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** The envelope fields of a message body, or why it is not an envelope (never quoting it). */
export function bodyFields(body: Buffer): BodyFields {
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `message body is not JSON${jsonErrorWhere(err)}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return { ok: false, reason: `message body is ${kindOf(parsed)} in JSON, not an object (the envelope)` };
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key === 'data') continue;
    if (TEXT_FIELDS.has(key)) {
      if (value === null) continue;
      if (typeof value !== 'string')
        return { ok: false, reason: `field "${key}" must be a string, not ${kindOf(value)}` };
      fields[key] = value;
    } else fields[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const data = topLevelValueText(text, 'data');
  if (data !== undefined) fields['data'] = data;
  return { ok: true, fields };
}

/**
 * What a dead letter keeps of a body that is not an envelope: the text when it is UTF-8,
 * else base64; only its size when it is over `maxBytes` (the dead-letter stream is never trimmed).
 */
export function rawBodyFields(body: Buffer, maxBytes: number): Record<string, string> {
  if (body.length > maxBytes) return { bodyBytes: String(body.length) };
  const text = body.toString('utf8');
  return Buffer.from(text, 'utf8').equals(body) ? { body: text } : { bodyBase64: body.toString('base64') };
}

/** The body `wss publish` sends: the fields as one JSON object, `data` inserted as the JSON text it is. */
export function envelopeJson(fields: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields))
    parts.push(`${JSON.stringify(key)}:${key === 'data' ? value : JSON.stringify(value)}`);
  return `{${parts.join(',')}}`;
}

const sha256Hex = (parts: ReadonlyArray<string | Buffer>): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 32);
};

/**
 * The event id when the envelope has no `id`: the `messageId` property when it is a valid event
 * id, `msgid-<hash>` of it when it is not (e.g. `urn:uuid:…`, since `:` is refused), else
 * `sha256-<hash>` of the `timestamp` property and the body: the same message always gets the
 * same id, and two messages with equal bodies and timestamps are one event.
 */
export function defaultEventId(props: { messageId?: unknown; timestamp?: unknown }, body: Buffer): string {
  const mid = props.messageId;
  if (typeof mid === 'string' && mid !== '') return EVENT_ID_PATTERN.test(mid) ? mid : `msgid-${sha256Hex([mid])}`;
  const ts = typeof props.timestamp === 'number' ? String(props.timestamp) : '';
  return `sha256-${sha256Hex([ts, '\n', body])}`;
}

// 10^11 seconds is the year 5138; 10^11 milliseconds is 1973. AMQP says seconds; many
// producers send Date.now(). Either is read right.
const MS_THRESHOLD = 1e11;

/** The `timestamp` property in ms (seconds per the spec, milliseconds accepted); else `firstSeenMs`. */
export function createdAtMs(timestamp: unknown, firstSeenMs: number): number {
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp <= 0) return firstSeenMs;
  const ms = timestamp >= MS_THRESHOLD ? timestamp : timestamp * 1000;
  return Number.isSafeInteger(Math.round(ms)) ? Math.round(ms) : firstSeenMs;
}

// --- The raw text of one top-level value of a JSON object known to be valid. ---

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function skipSpace(t: string, i: number): number {
  while (i < t.length && isSpace(t.charCodeAt(i))) i++;
  return i;
}

/** `t[i]` is an opening quote: the index after the closing one. */
function stringEnd(t: string, i: number): number {
  for (i++; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return t.length;
}

function valueEnd(t: string, i: number): number {
  const first = t[i];
  if (first === '"') return stringEnd(t, i);
  if (first === '{' || first === '[') {
    let depth = 0;
    while (i < t.length) {
      const c = t[i];
      if (c === '"') {
        i = stringEnd(t, i);
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
      i++;
    }
    return t.length;
  }
  while (i < t.length && !isSpace(t.charCodeAt(i)) && t[i] !== ',' && t[i] !== '}') i++;
  return i;
}

/** The text of `key`'s value in the JSON object `t` (the last one, as JSON.parse keeps), if any. */
export function topLevelValueText(t: string, key: string): string | undefined {
  let found: string | undefined;
  let i = skipSpace(t, 0) + 1; // past '{'
  for (;;) {
    i = skipSpace(t, i);
    if (i >= t.length || t[i] === '}') return found;
    const keyEnd = stringEnd(t, i);
    const raw = t.slice(i, keyEnd);
    const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    const start = skipSpace(t, skipSpace(t, keyEnd) + 1); // past ':'
    const end = valueEnd(t, start);
    if (name === key) found = t.slice(start, end);
    i = skipSpace(t, end);
    if (t[i] === ',') i++;
  }
}
