// Safe stream trimming. Producers XADD without MAXLEN because a length cap would drop entries
// no bridge has read yet. Instead the stream is trimmed up to the oldest entry some group still
// needs: its oldest pending (read, not acknowledged) entry, else the first entry after its
// last-delivered id. With no group at all nothing is trimmed. Acknowledged entries younger than
// WSS_STREAM_RETENTION are kept too, for replay (src/replay/).
import type { RedisClient } from '../../../redis/client.js';
import { listGroups } from '../../../redis/streams/xinfo.js';
import { compareStreamIds, nextStreamId } from '../../../redis/streams/stream-id.js';

/** Entries with an id below the returned one are acknowledged by every group; undefined: keep all. */
export async function safeTrimFloor(redis: RedisClient, stream: string): Promise<string | undefined> {
  const groups = await listGroups(redis, stream);
  let floor: string | undefined;
  for (const g of groups) {
    let needed = nextStreamId(g.lastDeliveredId);
    if (g.pending > 0) {
      // Summary form: [count, smallest pending id, largest pending id, per-consumer counts].
      const summary = await redis.xpending(stream, g.name);
      const oldest = summary[1];
      if (typeof oldest === 'string' && compareStreamIds(oldest, needed) < 0) needed = oldest;
    }
    if (floor === undefined || compareStreamIds(needed, floor) < 0) floor = needed;
  }
  return floor;
}

/**
 * The id below which entries may go: the safe floor, held back to `now - retentionMs` so
 * acknowledged entries stay replayable for that long (WSS_STREAM_RETENTION). Pure.
 */
export function retentionFloor(safeFloor: string, retentionMs: number, nowMs: number): string {
  if (retentionMs <= 0) return safeFloor;
  const keepFrom = `${Math.max(0, Math.floor(nowMs - retentionMs))}-0`;
  return compareStreamIds(keepFrom, safeFloor) < 0 ? keepFrom : safeFloor;
}

/**
 * XTRIM MINID to the safe floor, or to the retention boundary when that is lower. The floor is
 * computed first and only moves forward, so a group that acknowledges or reads more in between
 * only makes the trim more conservative. Returns the number of entries removed.
 */
export async function trimStream(
  redis: RedisClient,
  stream: string,
  retention: { ms: number; now: number } = { ms: 0, now: 0 },
): Promise<number> {
  const floor = await safeTrimFloor(redis, stream);
  if (floor === undefined) return 0;
  return Number(await redis.xtrim(stream, 'MINID', retentionFloor(floor, retention.ms, retention.now)));
}
