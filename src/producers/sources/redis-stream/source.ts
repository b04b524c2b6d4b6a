// The Redis Stream source (WSS_SOURCE=redis-stream, the default): a consumer group on one
// stream, read with XREADGROUP on a connection of its own (the read blocks). What makes it
// at-least-once and crash-safe lives here, behind the bridge's Source interface:
// - own pending entries (read, not acknowledged) are read again first, after a start and after
//   any failed step, so nothing read is lost by a failure;
// - entries of other consumers are taken over (claim.ts): at once from consumers whose bridge has
//   no connection, after WSS_CLAIM_IDLE_MS from any other (a hung bridge);
// - XPENDING's delivery counts pick out poison (pending.ts), read alone or dead-lettered;
// - a group deleted under us is re-created (consumer-group.ts); acknowledged entries past
//   WSS_STREAM_RETENTION are trimmed (trim.ts); each read's COUNT fits WSS_BATCH_BYTES
//   (read-budget.ts);
// - it holds (`holds`): entries the bridge holds back stay in this consumer's pending list, are
//   skipped by own-pending re-reads and kept from take-over by `keep` (docs/isolation.md).
import { duplicateClient, type RedisClient } from '../../../redis/client.js';
import { errorMessage } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { PROBE_TIMEOUT_MS, withTimeout } from '../../../lib/timeout.js';
import { entryTimeMs } from '../../../queue/event.js';
import { watermarkAfter, watermarkAt } from '../../../queue/ordering.js';
import { compareStreamIds, maxStreamId, previousStreamId } from '../../../redis/streams/stream-id.js';
import { claimReply, readGroupEntries, type StreamEntry } from '../../../redis/streams/stream-reply.js';
import { listGroups, parseGroups } from '../../../redis/streams/xinfo.js';
import type { Readiness } from '../../../roles.js';
import type { HeldMessages, NextOptions, Source, SourceBatch, SourceMessage, SourceStats } from '../source.js';
import { Claimer, pendingEntries, readerConnectionName } from './claim.js';
import { ensureGroup, isGroupGone, pruneIdleConsumers } from './consumer-group.js';
import { nextChunk } from './pending.js';
import { nextReadCount } from './read-budget.js';
import { refetchEntries } from './refetch.js';
import { trimStream } from './trim.js';

// Consumers idle this long with nothing pending belong to bridges that are gone.
const CONSUMER_IDLE_PRUNE_MS = 3_600_000;

export interface RedisStreamOptions {
  stream: string;
  group: string;
  consumer: string;
  blockMs: number;
  batchSize: number;
  batchBytes: number;
  claimIdleMs: number;
  claimIntervalMs: number;
  maxEntryDeliveries: number;
  streamTrim: boolean;
  streamRetentionMs: number;
}

/** A stream entry as a source message: its id is the default event id, its time part the creation time. */
export function streamMessage(entry: StreamEntry): SourceMessage {
  return { id: entry.id, fields: entry.fields, defaultEventId: entry.id, createdAtMs: entryTimeMs(entry.id) };
}

export class RedisStreamSource implements Source {
  readonly kind = 'redis-stream';
  readonly holds = true;
  readonly description: string;
  private readonly reader: RedisClient;
  private readonly claimer: Claimer;
  private readonly counters: SourceStats = { claimed: 0, groupRecreated: 0, trimmed: 0, lastHandledId: undefined };
  /** Own pending entries are read (from this id on) before new ones; null: read new entries. */
  private pendingCursor: string | null = '0';
  private nextClaimAt = 0;
  private nextTrimAt: number;
  /** COUNT of the next read, adapted to the bytes of the last one (read-budget.ts). */
  private readCount: number;
  /** What the bridge holds (as of the last `next`): not handed out again. */
  private holding: HeldMessages | undefined;

  constructor(
    /** The shared connection: duplicated for the blocking reader, asked for readiness. */
    private readonly redis: RedisClient,
    private readonly o: RedisStreamOptions,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.description = `stream ${o.stream} (group ${o.group})`;
    // Named after the consumer: other bridges read CLIENT LIST to tell a dead consumer from a live one.
    this.reader = duplicateClient(redis, { connectionName: readerConnectionName(o.consumer) });
    this.reader.on('error', (err: Error) => log.debug({ err: err.message }, 'bridge: reader connection error'));
    this.claimer = new Claimer({
      redis: this.reader,
      stream: o.stream,
      group: o.group,
      consumer: o.consumer,
      claimIdleMs: o.claimIdleMs,
      batchSize: o.batchSize,
      maxDeliveries: o.maxEntryDeliveries,
      log,
    });
    this.nextTrimAt = now() + o.claimIntervalMs;
    this.readCount = o.batchSize;
  }

  async start(): Promise<void> {
    await ensureGroup(this.redis, this.o.stream, this.o.group, '0');
  }

  async next(opts: NextOptions = {}): Promise<SourceBatch> {
    this.holding = opts.holding;
    const batch = await this.step(opts.maxWaitMs, opts.scale ?? 1);
    if (batch.messages.length > 0)
      this.readCount = nextReadCount(batch.messages, this.o.batchBytes, this.o.batchSize, this.readCount);
    return batch;
  }

  private async step(maxWaitMs: number | undefined, scale: number): Promise<SourceBatch> {
    const { o, now } = this;
    if (now() >= this.nextClaimAt) {
      // Entries other consumers read but never acknowledged: at once from consumers with no
      // connection (dead bridges), after WSS_CLAIM_IDLE_MS from any other.
      const chunk = await this.claimer.next();
      if (!chunk) this.nextClaimAt = now() + o.claimIntervalMs;
      else {
        this.log.info(
          { count: chunk.entries.length, from: chunk.from, poison: chunk.poison },
          'bridge: claimed entries of other consumers',
        );
        this.counters.claimed += chunk.entries.length;
        return { messages: chunk.entries.map(streamMessage), poison: chunk.poison ? chunk.deliveries : undefined };
      }
    }
    if (now() >= this.nextTrimAt) await this.housekeeping();
    if (this.pendingCursor !== null) return this.readOwnPending(this.pendingCursor);
    const block = Math.max(1, Math.min(o.blockMs, maxWaitMs ?? o.blockMs));
    const count = Math.max(1, Math.floor(this.readCount * scale));
    return { messages: (await this.readGroup('>', block, count)).map(streamMessage) };
  }

  /** Every claim interval: trim what every group acknowledged (and is past the retention), drop dead consumers. */
  private async housekeeping(): Promise<void> {
    const { o, reader } = this;
    this.nextTrimAt = this.now() + o.claimIntervalMs;
    if (o.streamTrim) {
      const removed = await trimStream(reader, o.stream, { ms: o.streamRetentionMs, now: this.now() });
      this.counters.trimmed += removed;
      if (removed > 0) this.log.debug({ removed }, 'bridge: trimmed acknowledged entries');
    }
    const gone = await pruneIdleConsumers(reader, o.stream, o.group, o.consumer, CONSUMER_IDLE_PRUNE_MS);
    if (gone > 0)
      this.log.info({ consumers: gone }, 'bridge: removed consumers idle for over an hour with nothing pending');
  }

  private async readOwnPending(from: string): Promise<SourceBatch> {
    const { o } = this;
    // Delivery counts first (XPENDING counts no delivery), so an entry that killed bridges
    // before is read alone or dead-lettered.
    const page = await pendingEntries(this.reader, o.stream, o.group, {
      after: from === '0' ? '-' : from,
      count: this.readCount,
      consumer: o.consumer,
    });
    const held = this.holding;
    const chunk = nextChunk(held?.size ? page.filter((p) => !held.has(p.id)) : page, o.maxEntryDeliveries);
    if (!chunk) {
      // A page of held entries only: go on after it.
      this.pendingCursor = page.length > 0 ? page.at(-1)!.id : null;
      return { messages: [] };
    }
    // Held entries between them: take these by id (it counts a delivery, as the re-read does).
    const entries = held?.size
      ? claimReply(
          await this.reader.call('XCLAIM', o.stream, o.group, o.consumer, 0, ...chunk.entries.map((p) => p.id)),
        )
      : await this.readGroup(from, undefined, chunk.entries.length);
    this.pendingCursor = chunk.entries.at(-1)!.id;
    return {
      messages: entries.map(streamMessage),
      poison: chunk.poison ? new Map(chunk.entries.map((p) => [p.id, p.deliveries])) : undefined,
    };
  }

  private async readGroup(id: string, blockMs: number | undefined, count = this.readCount): Promise<StreamEntry[]> {
    const { o } = this;
    return readGroupEntries(
      await this.reader.call(
        'XREADGROUP',
        'GROUP',
        o.group,
        o.consumer,
        'COUNT',
        count,
        ...(blockMs === undefined ? [] : ['BLOCK', blockMs]),
        'STREAMS',
        o.stream,
        id,
      ),
    );
  }

  async keep(batch: SourceBatch): Promise<SourceBatch> {
    // JUSTID: keeps the entries ours and resets their idle time (so no other bridge claims
    // them meanwhile) without counting a delivery; entries acknowledged elsewhere drop out.
    const { o } = this;
    const ids = batch.messages.map((m) => m.id);
    if (ids.length === 0) return batch;
    const still = new Set(
      ((await this.reader.call('XCLAIM', o.stream, o.group, o.consumer, 0, ...ids, 'JUSTID')) as unknown[]).map(String),
    );
    return { ...batch, messages: batch.messages.filter((m) => still.has(m.id)) };
  }

  refetch(messages: readonly SourceMessage[]): Promise<SourceMessage[]> {
    return refetchEntries(this.reader, this.o.stream, messages, streamMessage);
  }

  async ack(batch: SourceBatch): Promise<void> {
    if (batch.messages.length === 0) return;
    await this.reader.xack(this.o.stream, this.o.group, ...batch.messages.map((m) => m.id));
    for (const m of batch.messages) this.counters.lastHandledId = maxStreamId(this.counters.lastHandledId, m.id);
  }

  /** True when the group was re-created: entries in hand belong to the old group and are read again. */
  async recover(err: unknown): Promise<boolean> {
    // Whatever was read but not acknowledged is in this consumer's pending list.
    this.pendingCursor = '0';
    if (!isGroupGone(err)) return false;
    // Resume after what this bridge handled, or before what it held back (the bridge drops it);
    // earlier entries other replicas may re-read are deduplicated by job id.
    const oldest = this.holding?.size ? this.holding.oldest : undefined;
    const handled = this.counters.lastHandledId ?? '0';
    const from =
      oldest !== undefined && compareStreamIds(previousStreamId(oldest), handled) < 0
        ? previousStreamId(oldest)
        : handled;
    if (await ensureGroup(this.reader, this.o.stream, this.o.group, from)) {
      this.counters.groupRecreated++;
      this.log.warn({ from }, 'bridge: consumer group was gone; re-created');
    }
    return true;
  }

  async ready(): Promise<Readiness> {
    const { stream, group } = this.o;
    try {
      const groups = await withTimeout(listGroups(this.redis, stream), PROBE_TIMEOUT_MS, 'redis');
      if (!groups.some((g) => g.name === group))
        return { ok: false, detail: `consumer group "${group}" is missing on ${stream}` };
      return { ok: true, detail: `reading ${stream}` };
    } catch (err) {
      return { ok: false, detail: `redis: ${errorMessage(err)}` };
    }
  }

  async watermark(): Promise<string> {
    const { stream, group } = this.o;
    // The last delivered id first: every entry up to it was read by then, so if none is pending
    // afterwards, all of them were acknowledged (docs/ordering.md). One pipeline on one key: Redis
    // runs the two in this order.
    const [groups, pending] =
      (await this.redis.pipeline().xinfo('GROUPS', stream).xpending(stream, group).exec()) ?? [];
    const failed = (groups?.[0] ?? pending?.[0]) as Error | null | undefined;
    // No stream or no group yet: nothing was read, so nothing may be released.
    if (failed) return /no such key|NOGROUP/i.test(failed.message) ? watermarkAfter('0-0') : Promise.reject(failed);
    const last = parseGroups(groups?.[1]).find((g) => g.name === group)?.lastDeliveredId ?? '0-0';
    const summary = pending?.[1] as [number, string | null, ...unknown[]];
    return summary[0] > 0 && summary[1] ? watermarkAt(summary[1]) : watermarkAfter(last);
  }

  stats(): Readonly<SourceStats> {
    return { ...this.counters };
  }

  interrupt(): void {
    // A blocking XREADGROUP ends by itself within WSS_BLOCK_MS; close() drops the connection.
  }

  async close(): Promise<void> {
    this.reader.disconnect();
  }
}
