// The delivery queues of a shard layout (src/redis/shards.ts): one BullMQ queue per shard, and the
// queues of other layouts that still hold jobs ("foreign" queues, left by an earlier WSS_SHARDS
// or by a process of a rolling change that runs another one). Every process records the names
// of its layout's queues in one set at start, so a later layout finds them: nothing queued under
// an old WSS_SHARDS is lost (workers drain them, the dashboard lists them).
import { Queue, type JobType } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import { jobEndpoint, type DeliveryJobData, type DeliveryQueue } from './job.js';
import { allShardQueueNames, BASE_QUEUE_NAME, keyBase, shardOf, type ShardLayout } from '../redis/shards.js';

/** One shard on one Redis: the key names of before sharding. */
export const LEGACY_LAYOUT: ShardLayout = Object.freeze({ count: 1, cluster: false });

export interface QueueRef {
  /** The BullMQ queue name (`deliveries`, `deliveries-2of3{3.1.4}`). */
  name: string;
  /** Shard-wide keys (fair share, circuit index) start with this: `<prefix>` or `<prefix>:{tag}`. */
  keyBase: string;
  /** The shard's index in this process's layout; undefined for a foreign queue. */
  shard: number | undefined;
  queue: DeliveryQueue;
}

/** The set of every queue name a process of this prefix ever used (registry slot, one key). */
export function knownQueuesKey(prefix: string): string {
  return `${prefix}:{registry}:queues`;
}

/** The hash tag in a queue name (`{3.1.4}`), or '' for the legacy name. */
export function queueTag(name: string): string {
  const m = /\{[^{}]+\}$/.exec(name);
  return m ? m[0] : '';
}

/** The key base of a queue's shard-wide state, from its name alone (works for foreign queues). */
export function queueKeyBase(prefix: string, name: string): string {
  return keyBase(prefix, queueTag(name));
}

/** States that mean "work left": a queue in any of them is drained by workers. */
export const PENDING_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

const MEMO_MAX = 200_000;

export class DeliveryQueues {
  readonly current: readonly QueueRef[];
  private readonly byName = new Map<string, QueueRef>();
  /** shardOf hashes (sha1) each call: the bridge asks per job and per fair-share field. */
  private readonly shardMemo = new Map<string, QueueRef>();

  constructor(
    private readonly connection: RedisClient,
    readonly prefix: string,
    readonly layout: ShardLayout,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    this.current = allShardQueueNames(layout).map((name, k) => this.open(name, k));
  }

  private open(name: string, shard: number | undefined): QueueRef {
    // A foreign queue is only looked at and drained: opening it must not create its meta key.
    const queue = new Queue<DeliveryJobData>(name, {
      connection: this.connection,
      prefix: this.prefix,
      ...(shard === undefined ? { skipMetasUpdate: true } : {}),
    });
    // Outages are reported by the connection's own handler; without a listener BullMQ prints them.
    queue.on('error', this.onError);
    const ref: QueueRef = { name, keyBase: queueKeyBase(this.prefix, name), shard, queue };
    this.byName.set(name, ref);
    return ref;
  }

  /** The shard an endpoint's jobs go to. */
  forEndpoint(tenant: string, endpoint: string): QueueRef {
    if (this.current.length === 1) return this.current[0]!;
    const key = `${tenant}/${endpoint}`;
    let ref = this.shardMemo.get(key);
    if (ref === undefined) {
      if (this.shardMemo.size >= MEMO_MAX) this.shardMemo.clear();
      ref = this.current[shardOf(tenant, endpoint, this.layout.count)]!;
      this.shardMemo.set(key, ref);
    }
    return ref;
  }

  /** Where a job of this id is added now (its endpoint's shard); undefined for an id of another shape. */
  forJobId(jobId: string): QueueRef | undefined {
    const e = jobEndpoint(jobId);
    return e && this.forEndpoint(e.tenant, e.endpoint);
  }

  /** Every queue opened so far: this layout's first, then the foreign ones. */
  all(): QueueRef[] {
    return [...this.byName.values()];
  }

  /** Records this layout's queue names, so a process of another layout finds what they hold. */
  async register(): Promise<void> {
    await this.connection.sadd(knownQueuesKey(this.prefix), ...this.current.map((r) => r.name));
  }

  /**
   * Queues of other layouts, opened on first sight. The legacy `deliveries` is always a candidate
   * on a single Redis (versions before sharding did not record it); on a cluster an untagged
   * queue cannot exist (its scripts would cross slots).
   */
  async foreign(): Promise<QueueRef[]> {
    const names = new Set(await this.connection.smembers(knownQueuesKey(this.prefix)));
    if (!this.layout.cluster) names.add(BASE_QUEUE_NAME);
    const out: QueueRef[] = [];
    for (const name of names) {
      const ref = this.byName.get(name) ?? this.open(name, undefined);
      if (ref.shard === undefined) out.push(ref);
    }
    return out;
  }

  /** Foreign queues holding jobs in any of `states` (a few commands per known queue). */
  async foreignWith(states: readonly JobType[]): Promise<QueueRef[]> {
    const refs = await this.foreign();
    const counts = await Promise.all(refs.map((r) => r.queue.getJobCounts(...states)));
    return refs.filter((_, i) => Object.values(counts[i]!).some((n) => n > 0));
  }

  /** Job counts per state, summed over every queue opened so far. */
  async jobCounts(...states: JobType[]): Promise<Record<string, number>> {
    const out: Record<string, number> = Object.fromEntries(states.map((s) => [s, 0]));
    const all = await Promise.all(this.all().map((r) => r.queue.getJobCounts(...states)));
    for (const c of all) for (const s of states) out[s] = (out[s] ?? 0) + (c[s] ?? 0);
    return out;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all().map((r) => r.queue.close()));
  }
}
