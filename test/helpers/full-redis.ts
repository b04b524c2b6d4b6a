// Redis out of memory, as in production with maxmemory + noeviction: every command that may
// grow memory (XADD, the writes in BullMQ's scripts) answers OOM; reads, XREADGROUP, XACK and
// XCLAIM still run. The test Redis runs with noeviction (redis-server.ts).
import type { RedisClient } from '../../src/redis/client.js';

const FILLER = 'test:oom-filler';

// A script without flags is checked for OOM against the memory at its start only, so this one
// may publish and then grow past the limit (a 2 MB filler built inside Redis).
const PUBLISH_AND_FILL = `
local ids = {}
for i, fields in ipairs(ARGV) do ids[i] = redis.call('XADD', KEYS[1], '*', unpack(cjson.decode(fields))) end
redis.call('SET', KEYS[2], string.rep('x', 2097152))
return ids`;

/**
 * Sets maxmemory just above what Redis uses, then atomically publishes `entries` to `stream`
 * and fills memory: afterwards Redis is over its limit and refuses the bridge's commits (the
 * bridge reads the entries all the same). Returns the entry ids.
 */
export async function publishIntoFullRedis(admin: RedisClient, stream: string, entries: string[][]): Promise<string[]> {
  const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
  await admin.config('SET', 'maxmemory', String(used + 256 * 1024));
  const ids = (await admin.eval(
    PUBLISH_AND_FILL,
    2,
    stream,
    FILLER,
    ...entries.map((f) => JSON.stringify(f)),
  )) as string[];
  return ids.map(String);
}

/** Lifts the limit and drops the filler. */
export async function freeMemory(admin: RedisClient): Promise<void> {
  await admin.config('SET', 'maxmemory', '0');
  await admin.del(FILLER);
}
