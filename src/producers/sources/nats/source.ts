// The NATS JetStream source (WSS_SOURCE=nats): a durable pull consumer with explicit acks, shared
// by every bridge (JetStream hands each message to one of them). What the Source contract asks:
// - at least once: a message is acknowledged (+ACK, then a flush so the server has it) only
//   after its batch is in Redis; one not acknowledged within the consumer's ack wait (its bridge
//   died, hung or stopped with it in hand) is delivered again, to any bridge;
// - a delivery count per message (num_delivered, in the ack subject): redelivered messages are
//   taken alone, and past WSS_MAX_ENTRY_DELIVERIES as poison (redis-stream/pending.ts nextChunk);
// - a stable event id and time: the envelope's `id`, else the Nats-Msg-Id header, else
//   `<stream>-<seq>-<store ms>`; the creation time is the stream's store time;
// - a batch kept in hand after a failed commit stays ours: keep() sends +WPI (working), which
//   restarts the ack wait without counting a delivery (working.ts).
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsTarget } from '../../../config/nats.js';
import { errorMessage } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { PROBE_TIMEOUT_MS, withTimeout } from '../../../lib/timeout.js';
import type { Readiness } from '../../../roles.js';
import { nextChunk } from '../redis-stream/pending.js';
import { nextReadCount } from '../redis-stream/read-budget.js';
import type { Source, SourceBatch, SourceMessage, SourceStats } from '../source.js';
import { ACK, WORKING } from './ack-subject.js';
import { connectNats, NatsConsumerGoneError, NatsUnavailableError, redact, type NatsLink } from './connection.js';
import { defaultEventId, messageRef as ref, MSG_ID_HEADER, natsFields } from './envelope.js';
import { Puller, type Delivery } from './puller.js';
import { ensureConsumer, ensureStream, isApiError, type JetStreamNames } from './setup.js';
import { WorkingSignal } from './working.js';
import { JetStreamApiCodes } from '@nats-io/jetstream';

export interface NatsSourceOptions extends JetStreamNames {
  target: NatsTarget;
  /** The connection's name as the server lists it (e.g. `wss-bridge:<WSS_CONSUMER>`). */
  connectionName: string;
  blockMs: number;
  batchSize: number;
  batchBytes: number;
  maxEntryDeliveries: number;
  /** WSS_MAX_EVENT_BYTES: a body that is no envelope is kept in its dead letter up to this size. */
  maxEventBytes: number;
}

// How long an acknowledgement may take to reach the server before the batch counts as failed.
const ACK_FLUSH_TIMEOUT_MS = 5_000;
// After each keep(), how long the held messages are told "working" (the bridge retries within 5 s).
const KEEP_WINDOW_MS = 10_000;

export class NatsSource implements Source {
  readonly kind = 'nats';
  readonly holds = false;
  readonly description: string;
  private link: NatsLink | undefined;
  private jsm: JetStreamManager | undefined;
  private puller: Puller | undefined;
  /** Messages handed to the bridge and not acknowledged, by SourceMessage id. */
  private readonly held = new Map<string, Delivery>();
  private readonly counters: SourceStats = { claimed: 0, groupRecreated: 0, trimmed: 0, lastHandledId: undefined };
  private lastAckedSeq = 0;
  private workQueue = true;
  private readCount: number;
  /**
   * Pull one message at a time: from the start until the first message that is not a
   * redelivery, and again while what comes is redelivered (empty pulls change nothing). A pull
   * counts a delivery for every message it brings, so after a crash a batch would push the
   * messages next to the one that killed the bridge towards the poison bound with it.
   */
  private cautious = true;
  private readonly working: WorkingSignal;

  constructor(
    private readonly o: NatsSourceOptions,
    private readonly log: Logger,
  ) {
    this.description = `JetStream stream ${o.stream} (consumer ${o.consumer}) on ${o.target.shown}`;
    this.readCount = o.batchSize;
    this.working = new WorkingSignal(Math.max(200, Math.floor(o.ackWaitMs / 3)), KEEP_WINDOW_MS, () =>
      this.reply([...this.held.values(), ...(this.puller?.buffered() ?? [])], WORKING),
    );
  }

  async start(): Promise<void> {
    this.link = await connectNats(this.o.target, this.o.connectionName, this.log);
    try {
      this.jsm = await jetstreamManager(this.link.nc);
      await this.ensure();
    } catch (err) {
      await this.link.close();
      if (err instanceof NatsUnavailableError) throw err;
      throw redactError(err, this.o.target);
    }
    this.puller = new Puller(this.link.nc, this.o.stream, this.o.consumer, this.log);
    this.puller.start();
  }

  /** Stream and consumer, created when absent; true when the consumer was (re-)created. */
  private async ensure(startSeq?: number): Promise<boolean> {
    const stream = await ensureStream(this.jsm!, this.o, this.log);
    this.workQueue = stream.config.retention === 'workqueue';
    const version = this.link!.nc.info?.version ?? '0';
    return (await ensureConsumer(this.jsm!, this.o, stream, this.log, version, startSeq)).created;
  }

  async next(): Promise<SourceBatch> {
    const { o } = this;
    const puller = this.puller!;
    if (!this.link!.connected())
      throw new NatsUnavailableError(`NATS at ${o.target.shown} is unreachable; reconnecting`);
    if (puller.buffered().length === 0) {
      await puller.pull(this.cautious ? 1 : this.readCount, o.blockMs);
      // An empty pull says nothing: a new bridge's first pulls often come before a dead one's
      // messages are due again (the ack wait), and a batch pulled then would bring them all.
      const got = puller.buffered();
      if (got.length > 0) this.cautious = got.some((d) => d.info.delivered > 1);
    }
    const list = puller.buffered().map((d) => ({ d, deliveries: d.info.delivered - 1 }));
    // Deliveries before this one, as XPENDING counts them: a message delivered twice before is
    // taken alone, one at the bound is dead-lettered unplanned.
    const chunk = nextChunk(list, o.maxEntryDeliveries);
    if (!chunk) return { messages: [] };
    const taken = chunk.entries.map((e) => e.d);
    puller.take(taken);
    const messages = taken.map((d) => this.message(d));
    for (const d of taken) if (d.info.delivered > 1) this.counters.claimed++;
    this.readCount = nextReadCount(messages, o.batchBytes, o.batchSize, this.readCount);
    return {
      messages,
      poison: chunk.poison
        ? new Map(chunk.entries.map((e) => [ref(o.stream, e.d.info.streamSeq), e.deliveries]))
        : undefined,
    };
  }

  private message(d: Delivery): SourceMessage {
    const { stream, maxEventBytes } = this.o;
    const id = ref(stream, d.info.streamSeq);
    this.held.set(id, d);
    const { fields, malformed } = natsFields(
      d.msg.string(),
      d.msg.headers?.get(MSG_ID_HEADER) || undefined,
      maxEventBytes,
    );
    return {
      id,
      fields,
      defaultEventId: defaultEventId(stream, d.info.streamSeq, d.info.timestampMs),
      createdAtMs: d.info.timestampMs,
      ...(malformed === undefined ? {} : { malformed }),
    };
  }

  async keep(batch: SourceBatch): Promise<SourceBatch> {
    // What this bridge holds (the batch and what it pulled since) stays with it while it retries.
    this.working.extend();
    return batch;
  }

  async ack(batch: SourceBatch): Promise<void> {
    if (batch.messages.length === 0) return;
    if (!this.link!.connected())
      throw new NatsUnavailableError(
        `NATS at ${this.o.target.shown} is unreachable; the batch is acknowledged once it is back`,
      );
    const deliveries = batch.messages.map((m) => this.held.get(m.id)).filter((d) => d !== undefined);
    for (const d of deliveries) d.msg.respond(ACK);
    // The acks are on their way only when the server has them; a failure here fails the batch
    // (retried as it is: its jobs are already there and are not added twice).
    await withTimeout(this.link!.nc.flush(), ACK_FLUSH_TIMEOUT_MS, 'nats acknowledgement');
    for (const m of batch.messages) this.held.delete(m.id);
    if (this.held.size === 0) this.working.stop();
    for (const d of deliveries) this.lastAckedSeq = Math.max(this.lastAckedSeq, d.info.streamSeq);
    if (this.lastAckedSeq > 0) this.counters.lastHandledId = ref(this.o.stream, this.lastAckedSeq);
  }

  private reply(deliveries: readonly Delivery[], what: string): void {
    for (const d of deliveries) {
      try {
        d.msg.respond(what);
      } catch {
        // Closed connection: the ack wait runs out and the message comes back.
      }
    }
  }

  /** True when the consumer was re-created: what is in hand belonged to the old one. */
  async recover(err: unknown): Promise<boolean> {
    if (!(err instanceof NatsConsumerGoneError) || !this.link!.connected()) return false;
    try {
      await this.jsm!.consumers.info(this.o.stream, this.o.consumer);
      return false; // it exists: the pull was lost on the way (a reconnect); pull again
    } catch (e) {
      if (!isApiError(e, JetStreamApiCodes.ConsumerNotFound) && !isApiError(e, JetStreamApiCodes.StreamNotFound))
        throw redactError(e, this.o.target);
    }
    // A work queue holds only unacknowledged messages: read it all again. Any other stream
    // holds acknowledged ones too: resume after the last this bridge acknowledged.
    const from = this.workQueue || this.lastAckedSeq === 0 ? undefined : this.lastAckedSeq + 1;
    if (await this.ensure(from)) {
      this.counters.groupRecreated++;
      this.log.warn(
        { stream: this.o.stream, consumer: this.o.consumer, from: from ?? 'start' },
        'nats: the consumer was gone; re-created',
      );
    }
    this.held.clear();
    this.puller!.clear();
    this.working.stop();
    this.cautious = true;
    return true;
  }

  async ready(): Promise<Readiness> {
    const { target, stream, consumer } = this.o;
    if (!this.link?.connected()) return { ok: false, detail: `nats: not connected to ${target.shown} (reconnecting)` };
    try {
      await withTimeout(this.jsm!.consumers.info(stream, consumer), PROBE_TIMEOUT_MS, 'nats');
      return { ok: true, detail: `reading JetStream stream ${stream} (consumer ${consumer})` };
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.ConsumerNotFound) || isApiError(err, JetStreamApiCodes.StreamNotFound))
        return { ok: false, detail: `nats: consumer ${consumer} is missing on stream ${stream}` };
      return { ok: false, detail: `nats: ${redact(errorMessage(err), target)}` };
    }
  }

  stats(): Readonly<SourceStats> {
    return { ...this.counters };
  }

  interrupt(): void {
    this.puller?.interrupt();
  }

  async close(): Promise<void> {
    this.working.stop();
    this.puller?.stop();
    await this.link?.close();
  }
}

function redactError(err: unknown, target: NatsTarget): Error {
  if (err instanceof Error) {
    err.message = redact(err.message, target);
    return err;
  }
  return new Error(redact(String(err), target));
}
