// What the stream still holds, for replay: its oldest entry, and the newest entry ever deleted
// (trimmed by the bridge past WSS_STREAM_RETENTION, or XDEL'd). A range that starts at or before
// the newest deleted entry may have lost entries, so replay refuses it rather than send part of it.
import { errorMessage } from '../errors.js';
import { entryTimeMs } from '../event.js';
import type { RedisClient } from '../redis.js';
import { xinfoRecord } from '../streams/xinfo.js';

export interface StreamWindow {
  /** The oldest entry's id; undefined when the stream is empty or absent. */
  firstId: string | undefined;
  /** The newest deleted entry's id (Redis ≥ 7); undefined when none was ever deleted. */
  maxDeletedId: string | undefined;
}

export async function streamWindow(redis: RedisClient, stream: string): Promise<StreamWindow> {
  let info: Record<string, unknown>;
  try {
    info = xinfoRecord(await redis.call('XINFO', 'STREAM', stream));
  } catch (err) {
    if (/no such key/i.test(errorMessage(err))) return { firstId: undefined, maxDeletedId: undefined };
    throw err;
  }
  const first = info['first-entry'];
  const firstId = Array.isArray(first) && typeof first[0] === 'string' ? first[0] : undefined;
  const deleted = info['max-deleted-entry-id'];
  const maxDeletedId = typeof deleted === 'string' && deleted !== '0-0' ? deleted : undefined;
  return { firstId, maxDeletedId };
}

/**
 * Why a range starting at `fromMs` cannot be replayed in full, or undefined when it can. Pure.
 * `retention` is the setting as text, for the message.
 */
export function outsideRetention(w: StreamWindow, fromMs: number, retention: string): string | undefined {
  if (w.maxDeletedId === undefined || entryTimeMs(w.maxDeletedId) < fromMs) return undefined;
  const kept =
    w.firstId === undefined
      ? 'the stream holds no entries now'
      : `the stream keeps entries from ${new Date(entryTimeMs(w.firstId)).toISOString()} on`;
  return `the range starts at ${new Date(fromMs).toISOString()}, but entries up to ${new Date(entryTimeMs(w.maxDeletedId)).toISOString()} were trimmed (WSS_STREAM_RETENTION=${retention}); ${kept}`;
}
