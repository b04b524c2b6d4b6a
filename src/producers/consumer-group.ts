// The bridge's consumer group: created on start, re-created when it disappears.
import type { Redis } from 'ioredis';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The group (or the stream under it) is gone: XGROUP DESTROY, DEL, FLUSHALL. */
export function isGroupGone(err: unknown): boolean {
  const m = message(err);
  return m.startsWith('NOGROUP') || (m.startsWith('UNBLOCKED') && /no longer exists/.test(m));
}

/**
 * Creates the group at `startId` ('0': every entry already in the stream is delivered), with
 * MKSTREAM so the bridge may start before any producer. Returns false if it already existed.
 */
export async function ensureGroup(redis: Redis, stream: string, group: string, startId: string): Promise<boolean> {
  try {
    await redis.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
    return true;
  } catch (err) {
    if (message(err).startsWith('BUSYGROUP')) return false;
    throw err;
  }
}

export interface GroupInfo {
  name: string;
  consumers: number;
  pending: number;
  lastDeliveredId: string;
}

/** XINFO GROUPS; an absent stream has no groups. */
export async function listGroups(redis: Redis, stream: string): Promise<GroupInfo[]> {
  let reply: unknown;
  try {
    reply = await redis.xinfo('GROUPS', stream);
  } catch (err) {
    if (/no such key/i.test(message(err))) return [];
    throw err;
  }
  if (!Array.isArray(reply)) return [];
  return reply.map((raw: unknown) => {
    const f: Record<string, unknown> = {};
    const list = Array.isArray(raw) ? raw : [];
    for (let i = 0; i + 1 < list.length; i += 2) f[String(list[i])] = list[i + 1];
    return {
      name: String(f['name']),
      consumers: Number(f['consumers'] ?? 0),
      pending: Number(f['pending'] ?? 0),
      lastDeliveredId: String(f['last-delivered-id'] ?? '0-0'),
    };
  });
}
