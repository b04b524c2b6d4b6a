// Replays in flight per tenant (WSS_REPLAY_MAX_IN_FLIGHT): together with the deliveries cap of
// one replay, this bounds what replays can pile up in Redis (three replays of 10,000 deliveries
// of 10 KB at once took Redis from 36 to 424 MB in 6 s). A replay is recorded, with the keys of
// the jobs it queues, before its first job is added; it stays in flight until none of its jobs
// is waiting, delayed or active (each one delivered, failed for good, or removed). Finished
// replays are forgotten when the next replay of the tenant looks. Keys under one hash tag per
// prefix, so the reservation is one script call on a cluster too.
import type { RedisClient } from '../redis/client.js';

/** Job keys read per round trip when a replay's jobs are checked (newest first). */
const PAGE = 200;
/** A replay still queuing this long after it began is taken to have died mid-way: its jobs decide. */
const QUEUING_STALE_MS = 3_600_000;
/** A backstop for a list nobody looks at again (its tenant never replays again). */
const LIST_TTL_S = 30 * 86_400;

export interface InFlightKeys {
  hash: string;
  list(replayId: string): string;
}

export function inFlightKeys(prefix: string, tenant: string): InFlightKeys {
  const base = `${prefix}:{replays}:${tenant}`;
  return { hash: base, list: (id) => `${base}:${id}` };
}

export interface InFlightReplay {
  replayId: string;
  atMs: number;
  deliveries: number;
}

interface Entry {
  atMs: number;
  deliveries: number;
  /** Its jobs are still being added. */
  queuing: boolean;
}

// KEYS[1]: the tenant's hash; ARGV: most in flight, replay id, entry. 1 when recorded, 0 when full.
const RESERVE_LUA = `
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
`;

function parseEntry(json: string): Entry | undefined {
  try {
    const e = JSON.parse(json) as Partial<Entry>;
    return typeof e.atMs === 'number' && typeof e.deliveries === 'number'
      ? { atMs: e.atMs, deliveries: e.deliveries, queuing: e.queuing === true }
      : undefined;
  } catch {
    return undefined;
  }
}

/** True while one of the replay's jobs exists without having finished. */
async function unsettled(redis: RedisClient, listKey: string, e: Entry, nowMs: number): Promise<boolean> {
  if (e.queuing && nowMs - e.atMs < QUEUING_STALE_MS) return true;
  // Newest first: the last jobs queued are the likeliest still to wait.
  for (let end = await redis.llen(listKey); end > 0; end -= PAGE) {
    const keys = await redis.lrange(listKey, Math.max(0, end - PAGE), end - 1);
    // `timestamp` is set on every job hash, `finishedOn` once it completed or failed for good.
    const states = await Promise.all(keys.map((k) => redis.hmget(k, 'timestamp', 'finishedOn')));
    if (states.some(([created, finished]) => created !== null && finished === null)) return true;
  }
  return false;
}

/** The tenant's replays still in flight, oldest first; finished ones are forgotten on the way. */
export async function replaysInFlight(
  redis: RedisClient,
  keys: InFlightKeys,
  nowMs: number,
): Promise<InFlightReplay[]> {
  const out: InFlightReplay[] = [];
  for (const [replayId, json] of Object.entries(await redis.hgetall(keys.hash))) {
    const e = parseEntry(json);
    if (e && (await unsettled(redis, keys.list(replayId), e, nowMs)))
      out.push({ replayId, atMs: e.atMs, deliveries: e.deliveries });
    else {
      await redis.hdel(keys.hash, replayId);
      await redis.del(keys.list(replayId));
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/**
 * Records the replay as in flight with the keys of the jobs it is about to queue, unless `max`
 * are in flight already (false: nothing is recorded). The keys go first, so a replay is never
 * seen without them; the entry says "queuing" until queued() is called.
 */
export async function reserveReplay(
  redis: RedisClient,
  keys: InFlightKeys,
  replay: { replayId: string; jobKeys: readonly string[]; nowMs: number },
  max: number,
): Promise<boolean> {
  const list = keys.list(replay.replayId);
  for (let i = 0; i < replay.jobKeys.length; i += 1_000) await redis.rpush(list, ...replay.jobKeys.slice(i, i + 1_000));
  await redis.expire(list, LIST_TTL_S);
  const entry: Entry = { atMs: replay.nowMs, deliveries: replay.jobKeys.length, queuing: true };
  const ok = await redis.eval(RESERVE_LUA, 1, keys.hash, max, replay.replayId, JSON.stringify(entry));
  if (ok !== 1) await redis.del(list);
  return ok === 1;
}

/** Its jobs are added (or as many as could be): from now on they alone say whether it is in flight. */
export async function replayQueued(
  redis: RedisClient,
  keys: InFlightKeys,
  replay: { replayId: string; deliveries: number; nowMs: number },
): Promise<void> {
  const entry: Entry = { atMs: replay.nowMs, deliveries: replay.deliveries, queuing: false };
  await redis.hset(keys.hash, replay.replayId, JSON.stringify(entry));
}
