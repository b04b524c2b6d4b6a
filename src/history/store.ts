// The delivery log in Redis. Event records: per shard, up to BUCKETS hashes (`<meta>:<n>`) of
// event id → its lines (lines.ts), the newest bucket taking the writes. A bucket is closed after
// retention/BUCKETS or when it holds its share of WSS_HISTORY_MAX_RECORDS; opening one deletes
// the oldest, and each expires (key TTL) retention after it closed. So the records are bounded
// by time and by count, and no per-event key or index is paid for (docs/delivery-log.md).
// Settled deliveries also go to a stream per endpoint and state, for search, trimmed on write.
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis.js';
import type { AttemptRecord } from './record-attempt.js';
import { eventMetaKey, eventShard, settledStreamKey, type HistoryKeyConfig, type SettledState } from './keys.js';

export const BUCKETS = 24;

// KEYS[1]: the shard's meta hash. ARGV: now, bucket ms, buckets, records per bucket,
// retention ms, then field/line pairs. A line already in the field is not appended again (a
// re-read batch writes the same lines).
const APPEND_LUA = `
local meta = KEYS[1]
local now, span, n, per, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local g = tonumber(redis.call('HGET', meta, 'g') or '-1')
local s = tonumber(redis.call('HGET', meta, 's') or '0')
local cur = meta .. ':' .. g
local function open()
  g = g + 1
  s = now
  cur = meta .. ':' .. g
  redis.call('HSET', meta, 'g', g, 's', s)
  redis.call('DEL', cur, meta .. ':' .. (g - n))
end
if g < 0 or now - s >= span then open() end
for i = 6, #ARGV, 2 do
  local old = redis.call('HGET', cur, ARGV[i])
  if not old and redis.call('HLEN', cur) >= per then
    redis.call('PEXPIREAT', cur, s + span + keep)
    open()
  end
  if not old then
    redis.call('HSET', cur, ARGV[i], ARGV[i + 1])
  elseif not string.find('\\n' .. old .. '\\n', '\\n' .. ARGV[i + 1] .. '\\n', 1, true) then
    redis.call('HSET', cur, ARGV[i], old .. '\\n' .. ARGV[i + 1])
  end
end
redis.call('PEXPIREAT', cur, s + span + keep)
return g
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
  wssHistoryAppend(meta: string, ...args: Array<string | number>): Promise<number>;
  wssHistoryRead(meta: string, buckets: number, eventId: string): Promise<string[]>;
};

export interface HistoryStoreConfig extends HistoryKeyConfig {
  /** 0: nothing is recorded. */
  retentionMs: number;
  maxRecords: number;
}

export interface SettledEntry {
  tenant: string;
  endpoint: string;
  eventId: string;
  state: SettledState;
  attempts: number;
  /** Last HTTP status, or '' */
  status: number | null;
  error?: string;
}

export class HistoryStore {
  private readonly redis: RedisClient & Scripts;
  private readonly span: number;
  private readonly perBucket: number;

  constructor(
    redis: RedisClient,
    readonly config: HistoryStoreConfig,
  ) {
    const r = redis as RedisClient & Scripts;
    if (typeof r.wssHistoryAppend !== 'function') {
      redis.defineCommand('wssHistoryAppend', { numberOfKeys: 1, lua: APPEND_LUA });
      redis.defineCommand('wssHistoryRead', { numberOfKeys: 1, lua: READ_LUA });
    }
    this.redis = r;
    this.span = Math.max(1, Math.ceil(config.retentionMs / BUCKETS));
    this.perBucket = Math.max(1, Math.floor(config.maxRecords / BUCKETS));
  }

  get enabled(): boolean {
    return this.config.retentionMs > 0;
  }

  /**
   * Appends lines to events' records: one script call per shard, the shards' pipelines in
   * parallel (a pipeline holds the keys of one node only on a cluster).
   */
  async append(records: ReadonlyArray<{ eventId: string; lines: string[] }>, now: number): Promise<void> {
    if (!this.enabled || records.length === 0) return;
    const byShard = new Map<number, Array<string>>();
    for (const r of records) {
      if (r.lines.length === 0) continue;
      const k = eventShard(r.eventId, this.config.layout);
      let args = byShard.get(k);
      if (!args) byShard.set(k, (args = []));
      args.push(r.eventId, r.lines.join('\n'));
    }
    await Promise.all(
      [...byShard].map(([k, pairs]) =>
        this.redis.wssHistoryAppend(
          eventMetaKey(this.config, k),
          now,
          this.span,
          BUCKETS,
          this.perBucket,
          this.config.retentionMs,
          ...pairs,
        ),
      ),
    );
  }

  /** Every stored value of the event, oldest first (each a '\n'-joined run of lines). */
  async read(eventId: string): Promise<string[]> {
    const k = eventShard(eventId, this.config.layout);
    return this.redis.wssHistoryRead(eventMetaKey(this.config, k), BUCKETS, eventId);
  }

  /** A settled delivery, for search: one stream entry, trimmed by count and time on write. */
  addSettled(p: ChainableCommander, e: SettledEntry, now: number): void {
    const key = settledStreamKey(this.config, e.tenant, e.endpoint, e.state);
    const fields = ['e', e.eventId, 'n', String(e.attempts), 's', e.status === null ? '' : String(e.status)];
    if (e.error !== undefined) fields.push('c', e.error);
    p.xadd(key, 'MAXLEN', '~', this.config.maxRecords, '*', ...fields);
    // Exact by time (cheap when nothing is due), approximate by count (whole nodes freed).
    p.xtrim(key, 'MINID', String(Math.max(0, now - this.config.retentionMs)));
    p.pexpire(key, this.config.retentionMs + this.span);
  }

  async settle(e: SettledEntry, now: number): Promise<void> {
    if (!this.enabled) return;
    const p = this.redis.pipeline();
    this.addSettled(p, e, now);
    const failed = ((await p.exec()) ?? []).find(([err]) => err);
    if (failed) throw failed[0] as Error;
  }

  /** An attempt's line and, when it settled the delivery, its search entry: two shards, in parallel. */
  async recordAttempt(r: AttemptRecord, now: number): Promise<void> {
    if (!this.enabled) return;
    await Promise.all([
      this.append([{ eventId: r.eventId, lines: [r.line] }], now),
      r.settled ? this.settle(r.settled, now) : undefined,
    ]);
  }
}
