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
  /** Entries not yet delivered to the group (Redis ≥ 7); undefined when Redis cannot tell. */
  lag: number | undefined;
}

/** One XINFO reply item, a flat [name, value, name, value…] list, as a record. */
export function xinfoRecord(raw: unknown): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  const list: unknown[] = Array.isArray(raw) ? raw : [];
  for (let i = 0; i + 1 < list.length; i += 2) f[String(list[i])] = list[i + 1];
  return f;
}

/** An XINFO GROUPS reply. */
export function parseGroups(reply: unknown): GroupInfo[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((raw: unknown) => {
    const f = xinfoRecord(raw);
    return {
      name: String(f['name']),
      consumers: Number(f['consumers'] ?? 0),
      pending: Number(f['pending'] ?? 0),
      lastDeliveredId: String(f['last-delivered-id'] ?? '0-0'),
      lag: typeof f['lag'] === 'number' ? f['lag'] : undefined,
    };
  });
}

/** XINFO GROUPS; an absent stream has no groups. */
export async function listGroups(redis: Redis, stream: string): Promise<GroupInfo[]> {
  try {
    return parseGroups(await redis.xinfo('GROUPS', stream));
  } catch (err) {
    if (/no such key/i.test(message(err))) return [];
    throw err;
  }
}

/**
 * Removes consumers of `group` that hold no pending entries and have been idle longer than
 * `idleMs` (bridges that are gone: with the default WSS_CONSUMER each restart adds a name).
 * Deleting a consumer with nothing pending loses nothing, and a live bridge's consumer is never
 * idle that long: its blocking read touches it every WSS_BLOCK_MS. Returns how many went.
 */
export async function pruneIdleConsumers(redis: Redis, stream: string, group: string, self: string, idleMs: number): Promise<number> {
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
