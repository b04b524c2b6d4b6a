// A JetStream message's body ↔ the envelope's fields. Pure. The body is the envelope as one JSON
// object (`{"tenant","type","data","id"?,"priority"?}`); it becomes the same text fields a
// Redis Stream entry has, so queue/event.ts parseEnvelope validates every source alike. `data`
// is the producer's own text of that member (not re-serialised: numbers beyond a double's
// precision and key order reach receivers as sent, as with the Redis Stream).
import { EVENT_ID_PATTERN } from '../../../queue/event.js';

/** The header a JetStream producer sets to have the stream drop a re-publish (its duplicate window). */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

export interface NatsFields {
  fields: Record<string, string>;
  /** Set when the body cannot be an envelope at all: the reason of a `malformed` dead letter. */
  malformed?: string;
}

const WS = new Set([' ', '\t', '\n', '\r']);

function skipWs(t: string, i: number): number {
  while (WS.has(t[i]!)) i++;
  return i;
}

/** Index just past the string literal starting at `i` (t[i] is `"`). */
function stringEnd(t: string, i: number): number {
  let j = i + 1;
  while (t[j] !== '"') j += t[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** Index just past the JSON value starting at `i`. */
function valueEnd(t: string, i: number): number {
  const c = t[i];
  if (c === '"') return stringEnd(t, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    let j = i;
    do {
      const d = t[j];
      if (d === '"') {
        j = stringEnd(t, j);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') depth--;
      j++;
    } while (depth > 0);
    return j;
  }
  let j = i;
  while (j < t.length && t[j] !== ',' && t[j] !== '}' && t[j] !== ']' && !WS.has(t[j]!)) j++;
  return j;
}

/**
 * The text of the top-level member `key` of `text`, which must be valid JSON whose value is an
 * object (the caller parsed it). The last one wins on duplicate keys, as in JSON.parse.
 */
export function memberText(text: string, key: string): string | undefined {
  let i = skipWs(text, 0) + 1;
  let found: string | undefined;
  for (;;) {
    i = skipWs(text, i);
    if (text[i] === '}') return found;
    const keyEnd = stringEnd(text, i);
    const raw = text.slice(i, keyEnd);
    const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    i = skipWs(text, skipWs(text, keyEnd) + 1);
    const end = valueEnd(text, i);
    if (name === key) found = text.slice(i, end);
    i = skipWs(text, end);
    if (text[i] === ',') i++;
  }
}

function jsonWhere(err: unknown): string {
  const m = err instanceof Error ? /at position (\d+)/.exec(err.message) : null;
  return m ? ` (error at position ${m[1]})` : '';
}

const STRING_FIELDS = new Set(['tenant', 'type', 'id', 'priority', 'traceparent', 'tracestate', 'orderingKey']);

/**
 * The envelope fields of a message body. `msgId` (the Nats-Msg-Id header) is the event id when
 * the body has none; the body's `id` wins when both are there. `maxBodyBytes`: a body that is
 * no envelope is kept in its dead letter up to this size (its size is recorded instead).
 */
export function natsFields(body: string, msgId: string | undefined, maxBodyBytes: number): NatsFields {
  const asBody = (): Record<string, string> =>
    Buffer.byteLength(body) <= maxBodyBytes ? { body } : { bodyBytes: String(Buffer.byteLength(body)) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    return { fields: asBody(), malformed: `message body is not JSON${jsonWhere(err)}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const what = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
    return { fields: asBody(), malformed: `message body must be a JSON object (the envelope), got ${what}` };
  }
  const fields: Record<string, string> = {};
  let malformed: string | undefined;
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (v === null && k !== 'data') continue; // an optional field sent as null: absent
    if (k === 'data') fields[k] = memberText(body, 'data')!;
    else if (typeof v === 'string') fields[k] = v;
    else {
      fields[k] = JSON.stringify(v);
      if (STRING_FIELDS.has(k)) malformed ??= `field "${k}" must be a string`;
    }
  }
  if (fields['id'] === undefined && msgId !== undefined) {
    fields['id'] = msgId;
    if (!EVENT_ID_PATTERN.test(msgId))
      malformed ??= `header "${MSG_ID_HEADER}" (the event id) must be 1-200 characters of A-Z a-z 0-9 . _ ~ -`;
  }
  return malformed === undefined ? { fields } : { fields, malformed };
}

/** The body a publisher sends for validated fields (queue/publish.ts): `data` is embedded as its JSON text. */
export function envelopeJson(fields: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields))
    parts.push(`${JSON.stringify(k)}:${k === 'data' ? v : JSON.stringify(v)}`);
  return `{${parts.join(',')}}`;
}

/** The event id of a message whose producer gave none: stream, sequence and store time (a re-created stream restarts its sequence). */
export function defaultEventId(stream: string, seq: number, timestampMs: number): string {
  return `${stream.replace(/[^A-Za-z0-9._~-]/g, '_').slice(0, 100)}-${seq}-${timestampMs}`;
}

/** The source's reference to a message: dead letters' `entryId`, what publishers return. */
export const messageRef = (stream: string, seq: number): string => `${stream}#${seq}`;
