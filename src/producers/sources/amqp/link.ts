// One connection of the AMQP source and its one channel: opened with the queue declared and
// the prefetch set, consuming or taking one message at a time, and gone for good once closed
// (the source opens a new Link, with the next generation number, to reconnect). Delivery tags
// mean something only on the channel that gave them, so every message is tied to its Link.
import type { Channel, ChannelModel, Message } from 'amqplib';
import { errorMessage } from '../../../lib/errors.js';
import { ensureQueue, openConnection, redactPassword, type QueueFacts } from './connection.js';

export interface LinkOptions {
  url: string;
  queue: string;
  /** The connection's name (`rabbitmqctl list_connections client_properties` shows it). */
  name: string;
  prefetch: number;
  gen: number;
  /** The connection or channel closed (broker, network, or a channel error), with why (no password). */
  onLost: (link: Link, why: string) => void;
  /** A consumer delivery; null: the broker cancelled the consumer (the queue was deleted). */
  onMessage: (link: Link, msg: Message | null) => void;
}

export class Link {
  /**
   * 'careful': no consumer; messages are taken one at a time (basic.get). 'consume': a consumer
   * with the prefetch. 'cancelling': the consumer is being stopped (deliveries may still come).
   */
  mode: 'careful' | 'consume' | 'cancelling' = 'careful';
  /** Settles when a cancel started by stopConsuming is done. */
  cancelled: Promise<void> = Promise.resolve();
  /** Why the link is gone (set once); undefined while it lives. */
  lost: string | undefined;
  private consumerTag: string | undefined;
  /** Delivery tags received and not yet acknowledged on the channel. */
  private readonly outstanding = new Set<number>();

  private constructor(
    readonly gen: number,
    private readonly conn: ChannelModel,
    private readonly ch: Channel,
    private readonly o: LinkOptions,
  ) {}

  /** Connects, declares the queue if absent, opens the channel. Throws AmqpUnavailableError / AmqpQueueError. */
  static async open(o: LinkOptions): Promise<{ link: Link; queue: QueueFacts }> {
    const conn = await openConnection(o.url, o.name);
    try {
      conn.on('error', () => {}); // the close that follows says why
      const queue = await ensureQueue(conn, o.queue);
      const ch = await conn.createChannel();
      ch.on('error', () => {}); // likewise
      await ch.prefetch(o.prefetch);
      const link = new Link(o.gen, conn, ch, o);
      ch.on('close', () => link.lose('the channel closed'));
      conn.on('close', (err?: Error) => link.lose(err ? redactPassword(err.message, o.url) : 'connection closed'));
      return { link, queue };
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw err;
    }
  }

  get alive(): boolean {
    return this.lost === undefined;
  }

  /** Marks the link gone (once), tells the source, and closes the connection. */
  lose(why: string): void {
    if (this.lost !== undefined) return;
    this.lost = why;
    this.o.onLost(this, why);
    void this.conn.close().catch(() => undefined);
  }

  async consume(): Promise<void> {
    this.mode = 'consume';
    const { consumerTag } = await this.ch.consume(
      this.o.queue,
      (msg) => {
        if (!this.alive) return;
        if (msg) this.outstanding.add(msg.fields.deliveryTag);
        this.o.onMessage(this, msg);
      },
      { noAck: false },
    );
    this.consumerTag = consumerTag;
  }

  /** Stops the flow (what the broker already sent still arrives); then mode is 'careful'. */
  stopConsuming(): void {
    if (this.mode !== 'consume' || this.consumerTag === undefined) return;
    this.mode = 'cancelling';
    this.cancelled = this.ch.cancel(this.consumerTag).then(
      () => {
        this.mode = 'careful';
        this.consumerTag = undefined;
      },
      (err: unknown) => this.lose(`cancelling the consumer failed: ${errorMessage(err)}`),
    );
  }

  /** One message from the head of the queue, unacknowledged; false when it is empty. */
  async get(): Promise<Message | false> {
    const msg = await this.ch.get(this.o.queue, { noAck: false });
    if (msg) this.outstanding.add(msg.fields.deliveryTag);
    return msg;
  }

  /**
   * Acknowledges `msgs` (all delivered on this channel). One `multiple` ack up to the highest tag
   * when no other unacknowledged delivery has a lower tag (the usual batch: one frame, and one
   * settle for the quorum queue, instead of one per message); else one ack each. Throws
   * (IllegalOperationError) when the channel has closed.
   */
  ack(msgs: readonly Message[]): void {
    const tags = new Set(msgs.map((m) => m.fields.deliveryTag));
    let top = msgs[0]!;
    for (const m of msgs) if (m.fields.deliveryTag > top.fields.deliveryTag) top = m;
    let others = 0;
    for (const t of this.outstanding) if (t < top.fields.deliveryTag && !tags.has(t)) others++;
    if (others === 0 && msgs.length > 1) this.ch.ack(top, true);
    else for (const m of msgs) this.ch.ack(m);
    for (const t of tags) this.outstanding.delete(t);
  }

  /** Closes the connection: RabbitMQ requeues whatever it held unacknowledged. */
  async close(): Promise<void> {
    this.lost ??= 'closed';
    await this.conn.close().catch(() => undefined);
  }
}
