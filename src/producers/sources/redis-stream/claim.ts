// Taking over entries other consumers of the group read and never acknowledged. Two ways:
// - at once, from consumers whose bridge has no connection to Redis (killed, crashed): every
//   bridge names its reader connection after its consumer, so CLIENT LIST tells the living;
// - after WSS_CLAIM_IDLE_MS, from anyone (a hung bridge keeps its connection; a Redis that
//   refuses CLIENT LIST, as some managed services do, leaves only this way).
// Taking over a live bridge's batch (its connection was only reconnecting at that instant) is
// harmless: both add the same jobs, which BullMQ deduplicates by job id, and both XACK; only a
// dead letter may be written twice.
import { onEveryMaster, type RedisClient } from '../../../redis/client.js';
import type { Logger } from '../../../lib/log.js';
import { xinfoRecord } from '../../../redis/streams/xinfo.js';
import { nextChunk, parsePending, type PendingEntry } from './pending.js';
import { claimReply, type StreamEntry } from '../../../redis/streams/stream-reply.js';

/** The reader connection's name (CLIENT SETNAME allows no spaces: the consumer is encoded). */
export function readerConnectionName(consumer: string): string {
  return `wss-bridge:${encodeURIComponent(consumer)}`;
}

/**
 * Names of the connections open now (CLIENT LIST); undefined when Redis refuses the command.
 * CLIENT LIST is node-local: on a cluster every master is asked and the names are joined (a live
 * bridge's reader is connected at least to the master owning the stream).
 */
export async function liveConnectionNames(redis: RedisClient): Promise<Set<string> | undefined> {
  let texts: string[];
  try {
    texts = await onEveryMaster(redis, async (node) => String(await node.call('CLIENT', 'LIST', 'TYPE', 'normal')));
  } catch (err) {
    // NOPERM (ACL), ERR unknown command (renamed/disabled): fall back to the idle-time claim.
    if (err instanceof Error && /NOPERM|unknown command|unknown subcommand|disabled/i.test(err.message))
      return undefined;
    throw err;
  }
  const names = new Set<string>();
  for (const line of texts.join('\n').split('\n')) {
    const m = / name=(\S*)/.exec(line);
    if (m?.[1]) names.add(m[1]);
  }
  return names;
}

/**
 * Consumers holding pending entries whose reader connection is gone. Undefined when it cannot
 * be told: CLIENT LIST refused, or our own name missing from it (CLIENT SETNAME refused).
 */
export async function deadConsumers(
  redis: RedisClient,
  stream: string,
  group: string,
  self: string,
): Promise<string[] | undefined> {
  const live = await liveConnectionNames(redis);
  if (!live?.has(readerConnectionName(self))) return undefined;
  const reply: unknown = await redis.xinfo('CONSUMERS', stream, group);
  if (!Array.isArray(reply)) return [];
  return reply
    .map((raw) => xinfoRecord(raw))
    .filter(
      (f) =>
        String(f['name']) !== self &&
        Number(f['pending'] ?? 0) > 0 &&
        !live.has(readerConnectionName(String(f['name']))),
    )
    .map((f) => String(f['name']));
}

export interface PendingQuery {
  /** Exclusive lower bound; '-' from the start. */
  after: string;
  count: number;
  consumer?: string;
  minIdleMs?: number;
}

/** XPENDING (extended form, Redis ≥ 6.2): does not count as a delivery. */
export async function pendingEntries(
  redis: RedisClient,
  stream: string,
  group: string,
  q: PendingQuery,
): Promise<PendingEntry[]> {
  const idle = q.minIdleMs === undefined ? [] : ['IDLE', q.minIdleMs];
  const start = q.after === '-' ? '-' : `(${q.after}`;
  return parsePending(
    await redis.call(
      'XPENDING',
      stream,
      group,
      ...idle,
      start,
      '+',
      q.count,
      ...(q.consumer === undefined ? [] : [q.consumer]),
    ),
  );
}

export interface ClaimedChunk {
  entries: StreamEntry[];
  /** Times each entry was delivered before this claim. */
  deliveries: Map<string, number>;
  poison: boolean;
  from: string[];
}

export interface ClaimerOptions {
  redis: RedisClient;
  stream: string;
  group: string;
  consumer: string;
  claimIdleMs: number;
  batchSize: number;
  maxDeliveries: number;
  log: Logger;
}

/** One claim tick at a time: `next()` gives chunks until the tick has nothing more. */
export class Claimer {
  private dead: string[] | undefined;
  private idleCursor = '-';
  private warnedNoNames = false;

  constructor(private readonly o: ClaimerOptions) {}

  /** The next chunk taken over (now owned by this consumer), or undefined: the tick is over. */
  async next(): Promise<ClaimedChunk | undefined> {
    const { redis, stream, group, consumer, batchSize } = this.o;
    if (this.dead === undefined) {
      const dead = await deadConsumers(redis, stream, group, consumer);
      if (dead === undefined && !this.warnedNoNames) {
        this.warnedNoNames = true;
        this.o.log.warn(
          'bridge: CLIENT LIST or CLIENT SETNAME refused; entries of a dead bridge are claimed only after WSS_CLAIM_IDLE_MS',
        );
      }
      if (dead?.length)
        this.o.log.info({ consumers: dead }, 'bridge: claiming the pending entries of consumers with no connection');
      this.dead = dead ?? [];
    }
    while (this.dead.length > 0) {
      const from = this.dead[0]!;
      const chunk = nextChunk(
        await pendingEntries(redis, stream, group, { after: '-', count: batchSize, consumer: from }),
        this.o.maxDeliveries,
      );
      // A concurrent claim by another bridge resets the idle time: XCLAIM then leaves the entry.
      const claimed =
        chunk && (await this.claim(chunk.entries, Math.min(...chunk.entries.map((p) => p.idleMs)), chunk.poison));
      if (claimed?.entries.length) return claimed;
      this.dead.shift();
    }
    for (;;) {
      const list = await pendingEntries(redis, stream, group, {
        after: this.idleCursor,
        count: batchSize,
        minIdleMs: this.o.claimIdleMs,
      });
      const last = list.at(-1);
      if (!last) return this.endTick();
      // Own entries are re-read by the bridge itself (from '0' after an error).
      const chunk = nextChunk(
        list.filter((p) => p.consumer !== consumer),
        this.o.maxDeliveries,
      );
      if (!chunk) {
        if (list.length < batchSize) return this.endTick();
        this.idleCursor = last.id;
        continue;
      }
      this.idleCursor = chunk.entries.at(-1)!.id;
      const claimed = await this.claim(chunk.entries, this.o.claimIdleMs, chunk.poison);
      if (claimed.entries.length) return claimed;
    }
  }

  private endTick(): undefined {
    this.dead = undefined;
    this.idleCursor = '-';
    return undefined;
  }

  private async claim(list: PendingEntry[], minIdleMs: number, poison: boolean): Promise<ClaimedChunk> {
    const { redis, stream, group, consumer } = this.o;
    const entries = claimReply(
      await redis.call('XCLAIM', stream, group, consumer, Math.max(0, Math.floor(minIdleMs)), ...list.map((p) => p.id)),
    );
    return {
      entries,
      deliveries: new Map(list.map((p) => [p.id, p.deliveries])),
      poison,
      from: [...new Set(list.map((p) => p.consumer))],
    };
  }
}
