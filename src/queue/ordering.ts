// Ordering keys (docs/ordering.md), the pure part: what a valid key is, a message's position in
// its source as a fixed-width string (so a lexicographic ZSET sorts it in source order), the
// per-(endpoint, key) Redis key names, and what an ordered job carries. Everything that touches
// Redis is in ordering-store.ts.
import { createHash } from 'node:crypto';

/** The longest ordering key, in UTF-8 bytes. */
export const MAX_ORDERING_KEY_BYTES = 256;

/**
 * How far in the future a parked job's delay lies. BullMQ scores a delayed job with
 * timestamp × 4096, exact in a double up to about year 2039: a year ahead stays well within it.
 * A parked job is only ever moved by a release (ordering-store.ts), never by its timer.
 */
export const PARK_MS = 365 * 86_400_000;

/** A delayed job due later than now + this is parked (waiting behind its key), not in backoff. */
export const PARKED_AFTER_MS = 30 * 86_400_000;

/** What an ordered job carries (job data `ordering`). */
export interface OrderingData {
  /** The ordering key, as the event or the endpoint's expression gave it. */
  key: string;
  /** The message's position in its source (orderPosition). */
  pos: string;
  /** The endpoint's ordering.onFailure when the job was planned, if not the default `continue`. */
  onFailure?: 'block';
}

/** Why a key is refused, or undefined when it is valid. Control characters are refused: keys are shown and sent as a header. */
export function orderingKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'must not be empty';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'must not contain control characters';
  if (key.length > MAX_ORDERING_KEY_BYTES || Buffer.byteLength(key) > MAX_ORDERING_KEY_BYTES)
    return `must be at most ${MAX_ORDERING_KEY_BYTES} bytes (UTF-8)`;
  return undefined;
}

const pad = (digits: string, width: number) => digits.padStart(width, '0');

// Digits only, fixed width: Redis compares strings in Lua with strcoll (it sets LC_COLLATE from
// the environment), which may ignore punctuation; runs of digits of one width compare alike in
// every locale, and a lexicographic ZSET (memcmp) orders them the same way.
const STREAM_WIDTH = 35;

/**
 * A message's position as a fixed-width string that sorts like the source's order: a stream
 * entry id `ms-seq` → 15 + 20 digits; a numeric sequence (a JetStream stream sequence, an outbox
 * row id) → 20 digits; anything else (AMQP has no global order) → the creation time, then the
 * event id, which only orders events created in different milliseconds.
 */
export function orderPosition(sourceId: string, createdAtMs: number, eventId: string): string {
  const stream = /^(\d{1,15})-(\d{1,20})$/.exec(sourceId);
  if (stream) return `${pad(stream[1]!, 15)}${pad(stream[2]!, 20)}`;
  if (/^\d{1,20}$/.test(sourceId)) return pad(sourceId, 20);
  return `${pad(String(Math.max(0, Math.trunc(createdAtMs))), 15)}${eventId}`;
}

/** A watermark that holds nothing back: above every position (sources without a watermark). */
export const WATERMARK_ALL = '9'.repeat(40);

/** The stream watermark when nothing is pending: every entry up to `lastDeliveredId` is committed. */
export function watermarkAfter(lastDeliveredId: string): string {
  const p = orderPosition(lastDeliveredId, 0, '');
  return p.length === STREAM_WIDTH ? pad(String(BigInt(p) + 1n), STREAM_WIDTH) : p;
}

/** The stream watermark when `lowestPendingId` is the oldest entry read and not acknowledged. */
export function watermarkAt(lowestPendingId: string): string {
  return orderPosition(lowestPendingId, 0, '');
}

/**
 * The (endpoint, key) id used in Redis key names: a sha256 prefix, so a key's length and
 * characters never reach a key name. 128 bits: collisions are not a concern.
 */
export function orderingId(tenant: string, endpoint: string, key: string): string {
  return createHash('sha256').update(`${tenant}\u0000${endpoint}\u0000${key}`).digest('hex').slice(0, 32);
}

/** The ZSET member of an ordered job: position first, so the ZSET's first member is the oldest. */
export function orderingMember(pos: string, jobId: string): string {
  return `${pos}|${jobId}`;
}

/** The Redis keys of one shard's ordering state (`base` is the shard's key base, shards.ts). */
export function orderingKeys(base: string) {
  return {
    /** ZSET id → when the pass should look at the key next (keys with jobs waiting or a head to watch). */
    live: `${base}:ord:live`,
    /** HASH id → the failed job blocking the key (onFailure: block). */
    blocked: `${base}:ord:blocked`,
    /** ZSET of one key's jobs not yet ended, `<pos>|<jobId>`, all scores 0. */
    queue: (id: string) => `${base}:ord:q:${id}`,
    /** HASH of one key: n (last sequence), r (released head), k (key), t (tenant.endpoint), p (policy), <jobId> → sequence. */
    state: (id: string) => `${base}:ord:s:${id}`,
  };
}

/** The watermark key (one per deployment; read with GET, so its slot does not matter). */
export function watermarkKey(prefix: string): string {
  return `${prefix}:ord:watermark`;
}

export type OnFailure = 'continue' | 'block';

/** How long after a release a key is looked at again: a release lost to a crash heals within it. */
export const ORDER_HEAL_MS = 5_000;
