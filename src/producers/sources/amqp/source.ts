// The RabbitMQ source (WSS_SOURCE=amqp): one connection and one channel per bridge, a consumer
// on WSS_AMQP_QUEUE with manual acknowledgements and a prefetch of twice WSS_BATCH_SIZE.
// - At least once: a message stays unacknowledged on the channel until its batch is committed
//   to Redis; a batch kept in hand (a Redis outage) stays ours as long as the connection lives.
//   A lost connection (broker restart, network, kill -9 of the bridge) makes RabbitMQ requeue
//   everything the channel held; the bridge then drops its batch in hand (recover() is true)
//   and the messages come again, here or to another bridge (competing consumers).
// - Poison: the quorum queue's `x-delivery-count` (deliveries.ts). A message returned twice or
//   more is handled alone with the consumer stopped (basic.cancel, then basic.get one at a
//   time), so a crash on it returns nothing else with it; at the bound it is dead-lettered.
// - Ids: `<queue>#<delivery tag>` (per connection) as the reference; the event id and creation
//   time from the envelope and the AMQP properties (envelope.ts).
import type { Message } from 'amqplib';
import { errorMessage } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { Readiness } from '../../../roles.js';
import type { Source, SourceBatch, SourceMessage, SourceStats } from '../source.js';
import { AmqpUnavailableError, describeAmqpUrl, warnUncounted } from './connection.js';
import { deliveryKind, returnsOf, takeBatch, type Held } from './deliveries.js';
import { bodyFields, createdAtMs, defaultEventId, rawBodyFields } from './envelope.js';
import { Link } from './link.js';

export interface AmqpSourceOptions {
  url: string;
  queue: string;
  consumer: string;
  batchSize: number;
  batchBytes: number;
  blockMs: number;
  maxEntryDeliveries: number;
  /** WSS_MAX_EVENT_BYTES: a body that is not an envelope is kept in its dead letter up to this size. */
  maxEventBytes: number;
}

/** AMQP's prefetch count is 16 bits. */
export const prefetchFor = (batchSize: number): number => Math.min(65_535, 2 * batchSize);

type HeldMessage = Held<SourceMessage>;

export class AmqpSource implements Source {
  readonly kind = 'amqp';
  readonly holds = false;
  readonly description: string;
  private readonly where: string;
  private link: Link | undefined;
  private gen = 0;
  private quorum = true;
  private held: HeldMessage[] = [];
  /** The connection that delivered each message handed out, and its AMQP delivery. */
  private readonly origin = new WeakMap<SourceMessage, { link: Link; msg: Message }>();
  /** The connection of the last batch handed out. */
  private handedBy: Link | undefined;
  /** Why there is no connection: says where and why, never the password. */
  private down: string | undefined;
  private wake: (() => void) | undefined;
  private stopping = false;
  private readonly counters: SourceStats = { claimed: 0, groupRecreated: 0, trimmed: 0, lastHandledId: undefined };

  constructor(
    private readonly o: AmqpSourceOptions,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.where = describeAmqpUrl(o.url);
    this.description = `queue ${o.queue} on ${this.where}`;
  }

  /** Connects once; when the broker is not there yet the bridge loop keeps trying (not ready meanwhile). */
  async start(): Promise<void> {
    await this.connect().catch((err: unknown) =>
      this.log.error({ err: errorMessage(err) }, 'amqp: not connected at start; the bridge keeps trying'),
    );
  }

  private async connect(): Promise<void> {
    const { o } = this;
    try {
      const { link, queue } = await Link.open({
        url: o.url,
        queue: o.queue,
        name: `wss bridge ${o.consumer}`,
        prefetch: prefetchFor(o.batchSize),
        gen: ++this.gen,
        onLost: (l, why) => this.lost(l, why),
        onMessage: (l, msg) => this.delivered(l, msg),
      });
      if (!queue.quorum && this.quorum) warnUncounted(this.log);
      this.quorum = queue.quorum;
      if (queue.created) this.log.info('amqp: declared the queue (durable, quorum)');
      // A queue deleted under a running bridge (the consumer was cancelled) is declared again.
      if (queue.created && this.link !== undefined) this.counters.groupRecreated++;
      this.link = link;
      this.down = undefined;
      if (!this.quorum) await link.consume();
      this.log.info({ broker: this.where, quorum: this.quorum }, 'amqp: connected');
    } catch (err) {
      this.down = errorMessage(err);
      throw err;
    }
  }

  /** The connection is gone: RabbitMQ requeues what it held, so what is held here is void. */
  private lost(link: Link, why: string): void {
    if (this.link === link) {
      this.held = [];
      if (!this.stopping) {
        this.down = `amqp: lost the connection to ${this.where}: ${why}`;
        this.log.warn({ why }, 'amqp: connection lost; unacknowledged messages go back to the queue');
      }
    }
    this.wake?.();
  }

  private delivered(link: Link, msg: Message | null): void {
    if (msg === null) {
      link.lose(`the broker cancelled the consumer: queue ${this.o.queue} was deleted`);
      return;
    }
    const h = this.hold(link, msg);
    this.held.push(h);
    if (h.kind === 'suspect') link.stopConsuming();
    this.wake?.();
  }

  private live(): Link {
    const link = this.link;
    if (!link?.alive) throw new AmqpUnavailableError(this.notConnected());
    return link;
  }

  private notConnected(): string {
    return this.down ?? `amqp: not connected to ${this.where} yet`;
  }

  private hold(link: Link, msg: Message): HeldMessage {
    const { o } = this;
    const body = msg.content;
    const parsed = bodyFields(body);
    const message: SourceMessage = {
      id: `${o.queue}#${msg.fields.deliveryTag}`,
      fields: parsed.ok ? parsed.fields : rawBodyFields(body, o.maxEventBytes),
      defaultEventId: defaultEventId(msg.properties, body),
      createdAtMs: createdAtMs(msg.properties.timestamp, this.now()),
      malformed: parsed.ok ? undefined : parsed.reason,
    };
    this.origin.set(message, { link, msg });
    if (msg.fields.redelivered) this.counters.claimed++;
    const returns = this.quorum ? returnsOf(msg.properties.headers) : 0;
    return { kind: deliveryKind(returns, o.maxEntryDeliveries, this.quorum), returns, bytes: body.length, message };
  }

  async next(): Promise<SourceBatch> {
    let link = this.live();
    const first = this.take(link);
    if (first) return first;
    if (link.mode === 'cancelling') {
      await link.cancelled;
      return this.take(this.live()) ?? { messages: [] };
    }
    if (link.mode === 'careful') {
      // Suspects wait at the head of the queue (RabbitMQ redelivers returned messages first).
      const got = await link.get();
      link = this.live();
      if (got) {
        const h = this.hold(link, got);
        if (h.kind === 'suspect' || h.kind === 'poison') return this.hand(link, [h], h.kind === 'poison');
        this.held.push(h);
      }
      await link.consume();
      return this.take(link) ?? { messages: [] };
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.o.blockMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
    return this.take(this.live()) ?? { messages: [] };
  }

  private take(link: Link): SourceBatch | undefined {
    const t = takeBatch(this.held, this.o, link.mode === 'careful');
    if (!t) return undefined;
    this.held = t.rest;
    return this.hand(link, t.taken, t.poison);
  }

  private hand(link: Link, taken: HeldMessage[], poison: boolean): SourceBatch {
    this.handedBy = link;
    return {
      messages: taken.map((h) => h.message),
      poison: poison ? new Map(taken.map((h) => [h.message.id, h.returns])) : undefined,
    };
  }

  async keep(batch: SourceBatch): Promise<SourceBatch> {
    // Unacknowledged messages stay ours while the connection that delivered them lives.
    return { ...batch, messages: batch.messages.filter((m) => this.origin.get(m)?.link.alive === true) };
  }

  async ack(batch: SourceBatch): Promise<void> {
    if (batch.messages.length === 0) return;
    const deliveries = batch.messages.map((m) => this.origin.get(m));
    // A delivery tag means something only on its own channel: never ack on a newer one.
    if (deliveries.some((d) => !d?.link.alive || d.link !== deliveries[0]!.link))
      throw new AmqpUnavailableError(
        `amqp: the connection that delivered ${batch.messages.length} message(s) closed before they were acknowledged; RabbitMQ delivers them again (their jobs are not added twice)`,
      );
    deliveries[0]!.link.ack(deliveries.map((d) => d!.msg));
    this.counters.lastHandledId = batch.messages.at(-1)!.id;
  }

  /** Reconnects when the connection is gone; true when the batch in hand came over a connection now gone. */
  async recover(_err: unknown): Promise<boolean> {
    const dropped = this.handedBy !== undefined && !this.handedBy.alive;
    if (!this.link?.alive && !this.stopping) await this.connect();
    return dropped;
  }

  async ready(): Promise<Readiness> {
    if (!this.link?.alive) return { ok: false, detail: this.notConnected() };
    const uncounted = this.quorum ? '' : ' (not a quorum queue: no poison bound)';
    return { ok: true, detail: `consuming ${this.o.queue} on ${this.where}${uncounted}` };
  }

  stats(): Readonly<SourceStats> {
    return { ...this.counters };
  }

  interrupt(): void {
    this.wake?.();
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.link?.close();
  }
}
