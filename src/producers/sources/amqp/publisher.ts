// Publishing to the AMQP source (`wss publish`, `POST /api/events`, operational events with
// WSS_SOURCE=amqp): one connection per process, opened on first use and again after a loss,
// with a confirm channel. A publish resolves only once RabbitMQ has confirmed the message
// (persistent, on a durable quorum queue: written to a majority of its replicas); a message the
// broker could not route (the queue deleted meanwhile) is returned and the publish fails.
import { randomUUID } from 'node:crypto';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { errorMessage } from '../../../lib/errors.js';
import { withTimeout } from '../../../lib/timeout.js';
import type { EventPublisher } from '../source.js';
import { AmqpUnavailableError, ensureQueue, openConnection, redactPassword } from './connection.js';
import { envelopeJson } from './envelope.js';

/** How long a publish waits for the broker's confirm (a blocked connection, a lost broker). */
const CONFIRM_TIMEOUT_MS = 10_000;

export interface AmqpPublisherOptions {
  url: string;
  queue: string;
  /** The connection's name, as `rabbitmqctl list_connections client_properties` shows it. */
  name: string;
  now: () => number;
}

interface PubLink {
  conn: ChannelModel;
  ch: ConfirmChannel;
  /** Message ids the broker returned as unroutable (basic.return comes before the confirm). */
  returned: Set<string>;
  /** Why the broker blocked the connection (a resource alarm), while it is blocked. */
  blocked?: string;
}

export class AmqpPublisher implements EventPublisher {
  private link: Promise<PubLink> | undefined;
  private closed = false;

  constructor(private readonly o: AmqpPublisherOptions) {}

  private connect(): Promise<PubLink> {
    if (this.closed) return Promise.reject(new AmqpUnavailableError('amqp: the publisher is closed'));
    this.link ??= this.open().catch((err: unknown) => {
      this.link = undefined;
      throw err;
    });
    return this.link;
  }

  private async open(): Promise<PubLink> {
    const { url, queue, name } = this.o;
    const conn = await openConnection(url, name);
    try {
      await ensureQueue(conn, queue);
      const ch = await conn.createConfirmChannel();
      const link: PubLink = { conn, ch, returned: new Set() };
      conn.on('error', () => {}); // the close that follows is what matters
      conn.on('close', () => this.drop(link));
      conn.on('blocked', (reason: string) => (link.blocked = reason));
      conn.on('unblocked', () => delete link.blocked);
      ch.on('error', () => {});
      ch.on('close', () => this.drop(link));
      ch.on('return', (msg: { properties: { messageId?: unknown } }) => {
        if (typeof msg.properties.messageId === 'string') link.returned.add(msg.properties.messageId);
      });
      return link;
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw err;
    }
  }

  /** Returns the event id: the envelope's `id`, else a new UUID sent as the `messageId` property. */
  async publish(fields: Readonly<Record<string, string>>): Promise<string> {
    const { queue, url } = this.o;
    const link = await this.connect();
    const messageId = fields['id'] ?? randomUUID();
    const confirmed = new Promise<void>((resolve, reject) => {
      link.ch.sendToQueue(
        queue,
        Buffer.from(envelopeJson(fields)),
        {
          persistent: true,
          mandatory: true,
          contentType: 'application/json',
          messageId,
          timestamp: Math.floor(this.o.now() / 1000),
        },
        (err: unknown) => {
          if (err)
            reject(
              new AmqpUnavailableError(
                `amqp: queue ${queue} did not take the message: ${redactPassword(errorMessage(err), url)}`,
              ),
            );
          else if (link.returned.delete(messageId)) {
            // Deleted since this connection declared it: the next publish reconnects and declares it again.
            this.drop(link);
            reject(
              new AmqpUnavailableError(`amqp: queue ${queue} does not exist (the message was returned unroutable)`),
            );
          } else resolve();
        },
      );
    });
    try {
      await withTimeout(confirmed, CONFIRM_TIMEOUT_MS, `amqp: the confirm from queue ${queue}`);
    } catch (err) {
      const blocked = link.blocked === undefined ? '' : ` (the broker blocks publishing: ${link.blocked})`;
      if (err instanceof AmqpUnavailableError) throw err;
      throw new AmqpUnavailableError(`${errorMessage(err)}${blocked}`);
    }
    return messageId;
  }

  /** Forgets `link` (if it is the current one) and closes it: the next publish opens a new one. */
  private drop(link: PubLink): void {
    void this.link?.then(
      (l) => l === link && (this.link = undefined),
      () => undefined,
    );
    void link.conn.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const link = await this.link?.catch(() => undefined);
    this.link = undefined;
    await link?.conn.close().catch(() => undefined);
  }
}
