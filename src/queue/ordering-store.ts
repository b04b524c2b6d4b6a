// Ordering keys in Redis (docs/ordering.md): the bridge adds parked jobs to their key's queue
// (add) and releases heads the watermark allows (pass); the worker checks a job is its key's
// released head before sending (guard) and releases the next head when a job ends (ended); an
// operator skips a blocked head (skip). Every state change is one Lua script on the shard's slot
// (ordering-lua.ts); moving a released job out of the delayed set is BullMQ's own promote.
import { Job, type MinimalQueue } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import { ADD_LUA, STEP_LUA, WATERMARK_LUA } from './ordering-lua.js';
import {
  orderingId,
  orderingKeys,
  PARKED_AFTER_MS,
  watermarkKey,
  type OnFailure,
  type OrderingData,
} from './ordering.js';
import { JOB_NAME, type DeliveryJobData } from './job.js';

interface Scripts {
  wssOrderAdd(numKeys: number, ...args: Array<string | number>): Promise<number>;
  wssOrderStep(numKeys: number, ...args: Array<string | number>): Promise<string[]>;
  wssOrderWatermark(numKeys: number, ...args: Array<string | number>): Promise<string>;
}

/** The shard a job is in: its queue (by name) and the key base of that queue's shard (delivery-queues.ts). */
export interface OrderingShard {
  keyBase: string;
  queue: MinimalQueue;
}

/** The ordered jobs among a shard's jobs, as add() takes them. */
export function orderedAdds(jobs: ReadonlyArray<{ opts: { jobId: string }; data: DeliveryJobData }>): OrderedAdd[] {
  const out: OrderedAdd[] = [];
  for (const j of jobs) {
    const { ordering, tenant, endpoint } = j.data;
    if (ordering)
      out.push({ jobId: j.opts.jobId, tenant, endpoint, ordering, onFailure: ordering.onFailure ?? 'continue' });
  }
  return out;
}

/** One ordered job as the bridge commits it. */
export interface OrderedAdd {
  jobId: string;
  tenant: string;
  endpoint: string;
  ordering: OrderingData;
  onFailure: OnFailure;
}

export interface OrderingStoreOptions {
  prefix: string;
  /** WSS_ORDERING_KEY_TTL_S: how long a key's counter outlives its last use. */
  ttlS: number;
  /** How long after a release the pass looks at the key again (to heal a lost release or promote). */
  healMs: number;
  /** A Redis Cluster: the watermark (in another slot) is read apart, not inside the scripts. */
  cluster: boolean;
  now: () => number;
}

type Action = { action: 'promote' | 'blocked' | 'go' | 'skipped'; arg: string };

/** How many keys one STEP call handles (the pass calls it per chunk of the live set). */
const CHUNK = 200;

export class OrderingStore {
  private readonly redis: RedisClient & Scripts;

  constructor(
    redis: RedisClient,
    private readonly o: OrderingStoreOptions,
  ) {
    const r = redis as RedisClient & Scripts;
    if (typeof r.wssOrderStep !== 'function') {
      redis.defineCommand('wssOrderAdd', { lua: ADD_LUA });
      redis.defineCommand('wssOrderStep', { lua: STEP_LUA });
      redis.defineCommand('wssOrderWatermark', { lua: WATERMARK_LUA });
    }
    this.redis = r;
  }

  /** After the jobs were added (parked): puts them in their keys' queues, one call per shard. */
  async add(shard: OrderingShard, jobs: readonly OrderedAdd[]): Promise<void> {
    if (jobs.length === 0) return;
    const keys = orderingKeys(shard.keyBase);
    const args: Array<string | number> = [shard.keyBase, this.o.ttlS, this.o.now()];
    for (const j of jobs) {
      const id = orderingId(j.tenant, j.endpoint, j.ordering.key);
      args.push(id, `${j.ordering.pos}|${j.jobId}`, j.ordering.key, `${j.tenant}.${j.endpoint}`, j.onFailure);
    }
    await this.redis.wssOrderAdd(1, keys.live, ...args);
  }

  /** The watermark as last published ('' before any: nothing is released). */
  async watermark(): Promise<string> {
    return (await this.redis.get(watermarkKey(this.o.prefix))) ?? '';
  }

  /** What STEP takes as its watermark: on one Redis, the key to read it from inside the script. */
  private async stepWatermark(): Promise<string> {
    return this.o.cluster ? this.watermark() : `@${watermarkKey(this.o.prefix)}`;
  }

  /** Publishes a watermark; a lower one than published is ignored. Returns the one in force. */
  async raiseWatermark(wm: string): Promise<string> {
    return this.redis.wssOrderWatermark(1, watermarkKey(this.o.prefix), wm);
  }

  private async step(
    shard: OrderingShard,
    ids: readonly string[],
    mode: 'pass' | 'guard' | 'skip',
    target: string,
    wm: string,
  ): Promise<Action[]> {
    const now = this.o.now();
    const reply = await this.redis.wssOrderStep(
      1,
      orderingKeys(shard.keyBase).live,
      shard.keyBase,
      `${shard.queue.qualifiedName}:`,
      wm,
      now,
      this.o.healMs,
      this.o.ttlS,
      now + PARKED_AFTER_MS,
      mode,
      target,
      ...ids,
    );
    const out: Action[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2)
      out.push({ action: reply[i] as Action['action'], arg: String(reply[i + 1]) });
    await Promise.all(out.filter((a) => a.action === 'promote').map((a) => this.promote(shard.queue, a.arg)));
    return out;
  }

  /** Moves a released job from the delayed set to the queue; a job no longer delayed is left alone. */
  private async promote(queue: MinimalQueue, jobId: string): Promise<void> {
    try {
      await new Job(queue, JOB_NAME, {}, {}, jobId).promote();
    } catch {
      // Not delayed any more (promoted by another process, or running): nothing to do.
    }
  }

  /**
   * At send time: the job's sequence if it is its key's released head (releasing it first if it
   * is the head and the watermark allows), else undefined (the caller parks it again). A job no
   * longer in its key's queue (failed with continue or skipped, then recovered) goes with the
   * sequence it had (null: none known).
   */
  async guard(shard: OrderingShard, jobId: string, data: DeliveryJobData & { ordering: OrderingData }) {
    const id = orderingId(data.tenant, data.endpoint, data.ordering.key);
    const member = `${data.ordering.pos}|${jobId}`;
    const actions = await this.step(shard, [id], 'guard', member, await this.stepWatermark());
    const go = actions.find((a) => a.action === 'go');
    // '' : a recovered job that left its key's order and whose sequence is gone: sent without one.
    return go === undefined ? undefined : go.arg === '' ? null : Number(go.arg);
  }

  /** After a job finished (completed or failed for good): releases the next head of its key. */
  async ended(shard: OrderingShard, data: DeliveryJobData & { ordering: OrderingData }): Promise<void> {
    const id = orderingId(data.tenant, data.endpoint, data.ordering.key);
    await this.step(shard, [id], 'pass', '', await this.stepWatermark());
  }

  /**
   * One pass over a shard's keys that are due (waiting for the watermark, or released a while
   * ago and to be checked): releases what may go, heals lost releases. Returns how many jobs it
   * promoted.
   */
  async pass(shard: OrderingShard, watermark?: string, maxKeys = 5_000): Promise<number> {
    const wm = watermark ?? (await this.watermark());
    const cutoff = this.o.now();
    let promoted = 0;
    for (let done = 0; done < maxKeys; done += CHUNK) {
      const ids = await this.redis.zrangebyscore(
        orderingKeys(shard.keyBase).live,
        '-inf',
        String(cutoff),
        'LIMIT',
        '0',
        String(CHUNK),
      );
      if (ids.length === 0) break;
      const actions = await this.step(shard, ids, 'pass', '', wm);
      promoted += actions.filter((a) => a.action === 'promote').length;
      if (ids.length < CHUNK) break;
    }
    return promoted;
  }

  /** Skips the failed head `jobId` of a blocked key: it stays failed, the key moves on. False when it is not that key's head. */
  async skip(shard: OrderingShard, tenant: string, endpoint: string, key: string, jobId: string): Promise<boolean> {
    const id = orderingId(tenant, endpoint, key);
    const actions = await this.step(shard, [id], 'skip', jobId, await this.stepWatermark());
    return actions.some((a) => a.action === 'skipped');
  }

  /** The blocked keys of a shard whose job ids start with `jobIdPrefix` (`<tenant>.<endpoint>.`, or '' for all). */
  async blocked(shard: OrderingShard, jobIdPrefix = ''): Promise<Array<{ key: string; jobId: string }>> {
    const keys = orderingKeys(shard.keyBase);
    const all = await this.redis.hgetall(keys.blocked);
    const out: Array<{ key: string; jobId: string }> = [];
    for (const [id, jobId] of Object.entries(all)) {
      if (!jobId.startsWith(jobIdPrefix)) continue;
      const key = await this.redis.hget(keys.state(id), 'k');
      out.push({ key: key ?? '?', jobId });
    }
    return out;
  }
}

/** Where an ordered job stands: its sequence (once released), the head its key waits behind, the job blocking the key. */
export async function orderingPosition(
  redis: RedisClient,
  keyBase: string,
  job: { id: string; tenant: string; endpoint: string; key: string },
): Promise<{ sequence?: number; waitingBehind?: string; blockedBy?: string }> {
  const keys = orderingKeys(keyBase);
  const id = orderingId(job.tenant, job.endpoint, job.key);
  const [seq, head, blockedBy] = await Promise.all([
    redis.hget(keys.state(id), job.id),
    redis.zrange(keys.queue(id), '0', '0'),
    redis.hget(keys.blocked, id),
  ]);
  const headJob = head[0]?.slice(head[0].indexOf('|') + 1);
  return {
    ...(seq === null ? {} : { sequence: Number(seq) }),
    ...(headJob !== undefined && headJob !== job.id ? { waitingBehind: headJob } : {}),
    ...(blockedBy === null ? {} : { blockedBy }),
  };
}
