// The bridge's consumer group: created on start, re-created when it disappears.
import type { RedisClient } from '../../../redis/client.js';
import { errorMessage } from '../../../lib/errors.js';
import { xinfoRecord } from '../../../redis/streams/xinfo.js';

/** The group (or the stream under it) is gone: XGROUP DESTROY, DEL, FLUSHALL. */
export function isGroupGone(err: unknown): boolean {
  const m = errorMessage(err);
  return m.startsWith('NOGROUP') || (m.startsWith('UNBLOCKED') && /no longer exists/.test(m));
}

/**
 * Creates the group at `startId` ('0': every entry already in the stream is delivered), with
 * MKSTREAM so the bridge may start before any producer. Returns false if it already existed.
 */
export async function ensureGroup(
  redis: RedisClient,
  stream: string,
  group: string,
  startId: string,
): Promise<boolean> {
  try {
    await redis.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
    return true;
  } catch (err) {
    if (errorMessage(err).startsWith('BUSYGROUP')) return false;
    throw err;
  }
}

/**
 * Removes consumers of `group` that hold no pending entries and have been idle longer than
 * `idleMs` (bridges that are gone: with the default WSS_CONSUMER each restart adds a name).
 * Deleting a consumer with nothing pending loses nothing, and a live bridge's consumer is never
 * idle that long: its blocking read touches it every WSS_BLOCK_MS. Returns how many went.
 */
export async function pruneIdleConsumers(
  redis: RedisClient,
  stream: string,
  group: string,
  self: string,
  idleMs: number,
): Promise<number> {
  const reply: unknown = await redis.xinfo('CONSUMERS', stream, group);
  if (!Array.isArray(reply)) return 0;
  let removed = 0;
  for (const raw of reply) {
    const f = xinfoRecord(raw);
    const name = String(f['name']);
    if (name === self || Number(f['pending'] ?? 1) !== 0 || Number(f['idle'] ?? 0) <= idleMs) continue;
    // DELCONSUMER answers with the pending count it dropped: 0 here, checked just above.
    await redis.xgroup('DELCONSUMER', stream, group, name);
    removed++;
  }
  return removed;
}
