// The delivery log in Redis. Event records: per shard, up to BUCKETS hashes (`<meta>:<n>`) of
// event id → its lines (lines.ts), the newest bucket taking the writes. A bucket is closed after
// retention/BUCKETS or when it holds its share of WSS_HISTORY_MAX_RECORDS; opening one deletes
// the oldest, and each expires (key TTL) retention after it closed. So the records are bounded
// by time and by count, and no per-event key or index is paid for (docs/delivery-log.md).
// Settled deliveries also go to a stream per endpoint and state, for search, trimmed on write.
// Each write is one script call (per slot on a cluster); the worker's attempts of one event-loop
// turn share one.
import type { RedisClient } from '../redis/client.js';
import { shardOf } from '../redis/shards.js';
import type { AttemptRecord, SettledEntry } from './record-attempt.js';
import { eventMetaKey, eventShard, settledStreamKey, type HistoryKeyConfig } from './keys.js';

const BUCKETS = 24;

/**
 * Most bytes of one event's record (its field in a bucket). A record only grows past a few KB
 * when an event id is reused over and over (or a delivery is retried very often): then its
 * oldest lines are dropped, down to RECORD_KEEP_BYTES, and a first line `t|<count>` counts
 * every line dropped so far. The newest lines (the bridge's last record, the last attempts) stay.
 */
export const RECORD_MAX_BYTES = 65_536;
export const RECORD_KEEP_BYTES = 49_152;

// KEYS: the shard's meta hash when there are lines to append, then the streams to add to.
// ARGV: now, bucket ms, buckets, records per bucket, retention ms, stream MAXLEN, stream MINID,
// stream TTL ms, record max bytes, record keep bytes, the number of field/line pairs, the pairs,
// then 4 values per stream (event id, attempts, status, error code). A line already in the
// field is not appended again.
const RECORD_LUA = `
local now, span, n, per, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local cap, keepBytes = tonumber(ARGV[9]), tonumber(ARGV[10])
local pairs = tonumber(ARGV[11])
local i = 12
-- Past cap bytes, the oldest lines go (down to keepBytes); a first line t|<n> counts them.
local function bound(v)
  if #v <= cap then return v end
  local dropped = 0
  local m = string.match(v, '^t|(%d+)\\n')
  if m then
    dropped = tonumber(m)
    v = string.sub(v, #m + 4)
  end
  local cut = string.find(v, '\\n', #v - keepBytes, true)
  if cut then
    local _, lines = string.gsub(string.sub(v, 1, cut), '\\n', '')
    dropped = dropped + lines
    v = string.sub(v, cut + 1)
  end
  return 't|' .. dropped .. '\\n' .. v
end
local first = 1
if pairs > 0 then
  first = 2
  local meta = KEYS[1]
  local gs = redis.call('HMGET', meta, 'g', 's')
  local g = tonumber(gs[1] or '-1')
  local s = tonumber(gs[2] or '0')
  local cur = meta .. ':' .. g
  local opened = false
  local function open()
    g = g + 1
    s = now
    cur = meta .. ':' .. g
    opened = true
    redis.call('HSET', meta, 'g', g, 's', s)
    redis.call('DEL', cur, meta .. ':' .. (g - n))
  end
  if g < 0 or now - s >= span then open() end
  for _ = 1, pairs do
    local f, line = ARGV[i], ARGV[i + 1]
    i = i + 2
    local old = redis.call('HGET', cur, f)
    if not old and redis.call('HLEN', cur) >= per then
      redis.call('PEXPIREAT', cur, s + span + keep)
      open()
    end
    if not old then
      redis.call('HSET', cur, f, bound(line))
    elseif not string.find('\\n' .. old .. '\\n', '\\n' .. line .. '\\n', 1, true) then
      redis.call('HSET', cur, f, bound(old .. '\\n' .. line))
    end
  end
  -- A bucket's expiry is fixed when it opens (its first field was just written).
  if opened then redis.call('PEXPIREAT', cur, s + span + keep) end
end
for k = first, #KEYS do
  redis.call('XADD', KEYS[k], 'MAXLEN', '~', ARGV[6], '*', 'e', ARGV[i], 'n', ARGV[i + 1], 's', ARGV[i + 2], 'c', ARGV[i + 3])
  redis.call('XTRIM', KEYS[k], 'MINID', ARGV[7])
  redis.call('PEXPIRE', KEYS[k], ARGV[8])
  i = i + 4
end
return 1
`;

// KEYS[1]: the meta hash; ARGV[1]: buckets, ARGV[2]: the event id. The field of every live bucket, oldest first.
const READ_LUA = `
local g = tonumber(redis.call('HGET', KEYS[1], 'g') or '-1')
local out = {}
for i = math.max(0, g - tonumber(ARGV[1]) + 1), g do
  local v = redis.call('HGET', KEYS[1] .. ':' .. i, ARGV[2])
  if v then out[#out + 1] = v end
end
return out
`;

type Scripts = {
  wssHistoryRecord(numKeys: number, ...args: Array<string | number>): Promise<number>;
  wssHistoryRead(meta: string, buckets: number, eventId: string): Promise<string[]>;
};

export interface HistoryStoreConfig extends HistoryKeyConfig {
  /** 0: nothing is recorded. */
  retentionMs: number;
  maxRecords: number;
}

interface Batch {
  records: AttemptRecord[];
  now: number;
  issued: Promise<void>;
  written: Promise<void>;
}

export class HistoryStore {
  private readonly redis: RedisClient & Scripts;
  private readonly span: number;
  private readonly perBucket: number;
  private batch: Batch | undefined;

  constructor(
    redis: RedisClient,
    readonly config: HistoryStoreConfig,
  ) {
    const r = redis as RedisClient & Scripts;
    if (typeof r.wssHistoryRecord !== 'function') {
      redis.defineCommand('wssHistoryRecord', { lua: RECORD_LUA });
      redis.defineCommand('wssHistoryRead', { numberOfKeys: 1, lua: READ_LUA });
    }
    this.redis = r;
    this.span = Math.max(1, Math.ceil(config.retentionMs / BUCKETS));
    this.perBucket = Math.max(1, Math.floor(config.maxRecords / BUCKETS));
  }

  get enabled(): boolean {
    return this.config.retentionMs > 0;
  }

  private params(now: number): Array<string | number> {
    const c = this.config;
    return [
      now,
      this.span,
      BUCKETS,
      this.perBucket,
      c.retentionMs,
      c.maxRecords,
      Math.max(0, now - c.retentionMs),
      c.retentionMs + this.span,
      RECORD_MAX_BYTES,
      RECORD_KEEP_BYTES,
    ];
  }

  /**
   * Writes lines and search entries. On a cluster each script call stays in one slot: one call
   * per shard (its event lines and its endpoints' entries share the shard's hash tag); on a
   * single Redis one call takes everything.
   */
  async write(
    records: ReadonlyArray<{ eventId: string; lines: string[] }>,
    settled: readonly SettledEntry[],
    now: number,
  ): Promise<void> {
    if (!this.enabled) return;
    const { layout } = this.config;
    // One script call per shard: shard k's line index and the search entries of shard k's
    // endpoints share its hash tag, so one call takes both (at most `count` calls a batch).
    type Call = { meta?: string; pairs: string[]; entries: Array<[string, string[]]> };
    const byShard = new Map<number, Call>();
    const callOf = (k: number): Call => {
      let c = byShard.get(k);
      if (!c) byShard.set(k, (c = { pairs: [], entries: [] }));
      return c;
    };
    for (const r of records) {
      if (r.lines.length === 0) continue;
      const k = eventShard(r.eventId, layout);
      const c = callOf(k);
      c.meta ??= eventMetaKey(this.config, k);
      c.pairs.push(r.eventId, r.lines.join('\n'));
    }
    // On a single Redis every key may go in one call: entries join the first call.
    const first = byShard.values().next().value;
    for (const e of settled) {
      const c = layout.cluster ? callOf(shardOf(e.tenant, e.endpoint, layout.count)) : (first ?? callOf(0));
      c.entries.push([
        settledStreamKey(this.config, e.tenant, e.endpoint, e.state),
        [e.eventId, String(e.attempts), e.status === null ? '' : String(e.status), e.error ?? ''],
      ]);
    }
    const calls = [...byShard.values()];
    await Promise.all(
      calls.map((c) => {
        const keys = [...(c.meta ? [c.meta] : []), ...c.entries.map(([k]) => k)];
        const args = [...this.params(now), c.pairs.length / 2, ...c.pairs, ...c.entries.flatMap(([, v]) => v)];
        return this.redis.wssHistoryRecord(keys.length, ...keys, ...args);
      }),
    );
  }

  /** The bridge's records of one batch. */
  append(records: ReadonlyArray<{ eventId: string; lines: string[] }>, now: number): Promise<void> {
    return this.write(records, [], now);
  }

  /**
   * An attempt's line and, when it settled the delivery, its search entry. The attempts that end
   * in one turn of the event loop go in one call: `issued` resolves once that call is sent (no
   * round trip), `written` once Redis answered. A worker awaits `issued` only, so the line goes
   * before the job's completion on the same connection and Redis runs it first.
   */
  recordAttempt(r: AttemptRecord, now: number): { issued: Promise<void>; written: Promise<void> } {
    if (!this.enabled) return { issued: Promise.resolve(), written: Promise.resolve() };
    let batch = this.batch;
    if (!batch) {
      let markIssued!: () => void;
      let settle!: { resolve: () => void; reject: (e: unknown) => void };
      const b: Batch = {
        records: [],
        now,
        issued: new Promise<void>((res) => (markIssued = res)),
        written: new Promise<void>((resolve, reject) => (settle = { resolve, reject })),
      };
      setImmediate(() => {
        this.batch = undefined;
        const settled = b.records.flatMap((x) => (x.settled ? [x.settled] : []));
        // write() sends its commands before its first await, so they are on the wire in order.
        this.write(
          b.records.map((x) => ({ eventId: x.eventId, lines: [x.line] })),
          settled,
          b.now,
        ).then(settle.resolve, settle.reject);
        markIssued();
      });
      this.batch = batch = b;
    }
    batch.records.push(r);
    batch.now = Math.max(batch.now, now);
    return { issued: batch.issued, written: batch.written };
  }

  /** Every stored value of the event, oldest first (each a '\n'-joined run of lines). */
  async read(eventId: string): Promise<string[]> {
    const k = eventShard(eventId, this.config.layout);
    return this.redis.wssHistoryRead(eventMetaKey(this.config, k), BUCKETS, eventId);
  }
}
