// Replay from the Redis Stream (streamHistory), and what the stream still holds. Entries leave a
// stream from its head (the bridge trims with MINID past WSS_STREAM_RETENTION), so when Redis
// counts more entries ever added than the stream holds, everything before the oldest entry may have existed and is gone; an entry XDEL'd
// elsewhere shows as max-deleted-entry-id (Redis 7.0 updates it on XDEL, not on XTRIM). A range
// reaching into either may have lost entries: replay refuses it rather than send part of it.
import { errorMessage } from '../lib/errors.js';
import { entryTimeMs } from '../queue/event.js';
import type { RedisClient } from '../redis/client.js';
import { rangeEntries, type StreamEntry } from '../redis/streams/stream-reply.js';
import { xinfoRecord } from '../redis/streams/xinfo.js';
import { streamMessage } from '../producers/sources/redis-stream/source.js';
import { formatDuration } from './replay.js';
import type { ReplayHistory } from '../producers/sources/source.js';

const PAGE = 1_000;

interface StreamWindow {
  /** The oldest entry's id; undefined when the stream is empty or absent. */
  firstId: string | undefined;
  /** Entries with a lower id may have been removed (head trimming); undefined: none ever were. */
  trimmedBelow: string | undefined;
  /** The newest entry ever deleted by XDEL; undefined when none was. */
  maxDeletedId: string | undefined;
}

const idOf = (v: unknown): string | undefined => (typeof v === 'string' && v !== '0-0' ? v : undefined);

export async function streamWindow(redis: RedisClient, stream: string): Promise<StreamWindow> {
  let info: Record<string, unknown>;
  try {
    info = xinfoRecord(await redis.call('XINFO', 'STREAM', stream));
  } catch (err) {
    if (/no such key/i.test(errorMessage(err)))
      return { firstId: undefined, trimmedBelow: undefined, maxDeletedId: undefined };
    throw err;
  }
  const first = info['first-entry'];
  const firstId = Array.isArray(first) ? idOf(first[0]) : undefined;
  const added = Number(info['entries-added'] ?? 0);
  const length = Number(info['length'] ?? 0);
  // With nothing left, everything up to the last id ever generated is gone.
  const trimmedBelow = added > length ? (firstId ?? idOf(info['last-generated-id'])) : undefined;
  return { firstId, trimmedBelow, maxDeletedId: idOf(info['max-deleted-entry-id']) };
}

/**
 * Why a range starting at `fromMs` cannot be replayed in full, or undefined when it can. Pure.
 * `retention` is the setting as text, for the message.
 */
export function outsideRetention(w: StreamWindow, fromMs: number, retention: string): string | undefined {
  const iso = (id: string) => new Date(entryTimeMs(id)).toISOString();
  const kept =
    w.firstId === undefined ? 'the stream holds no entries now' : `the stream keeps entries from ${iso(w.firstId)} on`;
  const start = new Date(fromMs).toISOString();
  const headGone =
    w.trimmedBelow !== undefined &&
    (w.firstId === undefined ? entryTimeMs(w.trimmedBelow) >= fromMs : entryTimeMs(w.trimmedBelow) > fromMs);
  if (headGone)
    return `the range starts at ${start}, but older entries were trimmed (WSS_STREAM_RETENTION=${retention}); ${kept}`;
  if (w.maxDeletedId !== undefined && entryTimeMs(w.maxDeletedId) >= fromMs)
    return `the range starts at ${start}, but entries up to ${iso(w.maxDeletedId)} were deleted from the stream; ${kept}`;
  return undefined;
}

/** The tenant's entries in [fromMs, toMs], at most `max` + 1 of them (one more says "over the cap"). */
async function readRange(
  redis: RedisClient,
  stream: string,
  tenant: string,
  fromMs: number,
  toMs: number,
  max: number,
): Promise<StreamEntry[]> {
  const out: StreamEntry[] = [];
  let start = `${fromMs}-0`;
  for (;;) {
    const page = rangeEntries(await redis.xrange(stream, start, String(toMs), 'COUNT', PAGE));
    for (const e of page) {
      if (e.fields?.['tenant'] !== tenant) continue;
      out.push(e);
      if (out.length > max) return out;
    }
    if (page.length < PAGE) return out;
    start = `(${page.at(-1)!.id}`;
  }
}

/** Replay from the stream (XRANGE), refused where trimming or XDEL may have removed entries. */
export function streamHistory(redis: RedisClient, stream: string, retentionMs: number): ReplayHistory {
  return {
    refusal: async (fromMs) => outsideRetention(await streamWindow(redis, stream), fromMs, formatDuration(retentionMs)),
    read: async (tenant, fromMs, toMs, max) =>
      (await readRange(redis, stream, tenant, fromMs, toMs, max)).map(streamMessage),
  };
}
