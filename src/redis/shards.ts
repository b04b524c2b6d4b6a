// Where an endpoint's keys live. The delivery queue is split into WSS_SHARDS BullMQ queues,
// each under its own hash tag, so a Redis Cluster spreads them over its nodes. An endpoint
// belongs to one shard (a stable hash of `tenant/endpoint`), and every key about it (its jobs,
// limits, circuit, history) carries that shard's tag, so a Lua script or MULTI over them stays
// in one slot.
//
// One shard on a single Redis ("legacy") keeps the key names of before sharding existed: queue
// `deliveries`, keys `<prefix>:…` without a tag.
import { createHash } from 'node:crypto';

export const BASE_QUEUE_NAME = 'deliveries';
export const SLOTS = 16_384;

export interface ShardLayout {
  /** WSS_SHARDS. */
  readonly count: number;
  /** Connected to a Redis Cluster: every multi-key operation needs a hash tag. */
  readonly cluster: boolean;
}

function isLegacy(layout: ShardLayout): boolean {
  return layout.count === 1 && !layout.cluster;
}

// CRC16/XMODEM, the function Redis Cluster hashes keys with (cluster spec, "Key distribution model").
const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function crc16(text: string): number {
  let crc = 0;
  for (const b of Buffer.from(text, 'utf8')) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ b) & 0xff]!;
  return crc;
}

/** The cluster slot of `key`, honouring `{hash tags}` as Redis does. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(key.slice(open + 1, close)) % SLOTS;
  }
  return crc16(key) % SLOTS;
}

/** The shard of an endpoint: stable across processes and restarts (sha1, not a per-process seed). */
export function shardOf(tenant: string, endpoint: string, count: number): number {
  if (count <= 1) return 0;
  return createHash('sha1').update(`${tenant}/${endpoint}`).digest().readUInt32BE(0) % count;
}

/**
 * Shard k's hash tag, braces included (`{3.1.4}`), or '' for the legacy layout. The tag is the
 * first `<count>.<k>.<n>` whose slot falls in the k-th of `count` equal slot ranges: a cluster
 * created with `redis-cli --cluster create` gives each master an equal contiguous range, so
 * WSS_SHARDS equal to (or a multiple of) the number of masters puts the same number of shards on
 * every master, instead of leaving it to chance.
 */
export function shardTag(layout: ShardLayout, k: number): string {
  if (isLegacy(layout)) return '';
  // Every per-endpoint key is built from a tag (an attempt's history and limiter writes): the
  // search below runs once per shard, not per key.
  const memo = `${layout.count}.${k}`;
  let tag = TAG_MEMO.get(memo);
  if (tag === undefined) TAG_MEMO.set(memo, (tag = searchTag(layout.count, k)));
  return tag;
}

const TAG_MEMO = new Map<string, string>();

function searchTag(count: number, k: number): string {
  const lo = Math.floor((k * SLOTS) / count);
  const hi = Math.floor(((k + 1) * SLOTS) / count);
  for (let n = 0; ; n++) {
    const tag = `${count}.${k}.${n}`;
    const slot = crc16(tag) % SLOTS;
    if (slot >= lo && slot < hi) return `{${tag}}`;
  }
}

/** The BullMQ queue name of shard k: `deliveries` (legacy) or `deliveries-2of3{3.1.4}`. */
export function shardQueueName(layout: ShardLayout, k: number): string {
  if (isLegacy(layout)) return BASE_QUEUE_NAME;
  return `${BASE_QUEUE_NAME}-${k + 1}of${layout.count}${shardTag(layout, k)}`;
}

/** Every queue name of a layout, shard 0 first. */
export function allShardQueueNames(layout: ShardLayout): string[] {
  return Array.from({ length: layout.count }, (_, k) => shardQueueName(layout, k));
}

/**
 * The start of every key of one shard: `<prefix>` for the legacy layout's empty tag, else
 * `<prefix>:{3.1.4}`. Callers append their own `:limits:…`, `:circuit:…`, `:history:…`, so legacy
 * keys keep their old names. The one place this shape is written (per endpoint, per shard, and
 * from a queue's name in delivery-queues.ts).
 */
export function keyBase(prefix: string, tag: string): string {
  return tag === '' ? prefix : `${prefix}:${tag}`;
}

/** The key base of an endpoint's keys (its shard's). */
export function endpointKeyBase(prefix: string, layout: ShardLayout, tenant: string, endpoint: string): string {
  return keyBase(prefix, shardTag(layout, shardOf(tenant, endpoint, layout.count)));
}

/** The per-shard key base for shard-wide state (fair-share clock, history indexes). */
export function shardKeyBase(prefix: string, layout: ShardLayout, k: number): string {
  return keyBase(prefix, shardTag(layout, k));
}
