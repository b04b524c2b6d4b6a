// Redis Streams XINFO replies, parsed: shared by the bridge (trim, claims) and the metrics scrape.
import type { RedisClient } from '../client.js';
import { errorMessage } from '../../lib/errors.js';

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
export async function listGroups(redis: RedisClient, stream: string): Promise<GroupInfo[]> {
  try {
    return parseGroups(await redis.xinfo('GROUPS', stream));
  } catch (err) {
    if (/no such key/i.test(errorMessage(err))) return [];
    throw err;
  }
}
