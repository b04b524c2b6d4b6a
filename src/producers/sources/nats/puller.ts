// Pulling from the durable consumer, like XREADGROUP with BLOCK: one pull request at a time,
// `{batch, expires, no_wait}`, which nats-server (2.9 on) answers at once with what is there,
// or waits up to `expires` for the first message, then ends with a status (408/404). The
// client libraries' fetch() has no no_wait: it would hold every partial batch until it
// expires. Messages arrive on one inbox subscription that outlives reconnects and pulls, into
// a buffer keyed by stream sequence (a redelivery replaces the earlier one); anything that
// arrives late (after a pull gave up) is simply handed out next time.
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from '../../../lib/log.js';
import { parseAckSubject, type AckInfo } from './ack-subject.js';
import { NatsConsumerGoneError } from './connection.js';

export interface Delivery {
  msg: Msg;
  info: AckInfo;
}

interface Status {
  code: number;
  description: string;
}

// A pull's answer comes within `expires`; past this much more, the consumer (or the server
// behind the request) is taken to be gone: nats-server ignores pulls for a missing consumer.
const ANSWER_GRACE_MS = 5_000;

export class Puller {
  private readonly buffer = new Map<number, Delivery>();
  private readonly inbox = createInbox();
  private sub: Subscription | undefined;
  /** The pull under way: its reply token, how many messages it asked for and has brought. */
  private pending: { token: string; want: number; got: number; end: (s: Status | undefined) => void } | undefined;
  private n = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
    private readonly consumer: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.sub = this.nc.subscribe(`${this.inbox}.*`, { callback: (err, m) => (err ? undefined : this.onMessage(m)) });
  }

  private onMessage(m: Msg): void {
    if (!m.reply) {
      // A status (no reply subject): 100 heartbeat, 404/408 end of a pull, 409 refused or gone.
      const code = m.headers?.code ?? 0;
      if (code === 100) return;
      const token = m.subject.slice(m.subject.lastIndexOf('.') + 1);
      if (this.pending?.token === token) this.pending.end({ code, description: m.headers?.description ?? '' });
      return;
    }
    const info = parseAckSubject(m.reply);
    if (!info) {
      this.log.warn(
        { subject: m.subject },
        'nats: a message without a JetStream ack subject on the pull inbox; ignored',
      );
      return;
    }
    this.buffer.delete(info.streamSeq);
    this.buffer.set(info.streamSeq, { msg: m, info });
    // A pull that got all it asked for ends without a status. (A message carries its own
    // subject, not the pull's inbox: a late one of an earlier pull counts too, and merely ends
    // this pull early.)
    const p = this.pending;
    if (p && ++p.got >= p.want) p.end({ code: 0, description: 'complete' });
  }

  /** Deliveries received and not yet taken, in arrival order. */
  buffered(): Delivery[] {
    return [...this.buffer.values()];
  }

  take(deliveries: readonly Delivery[]): void {
    for (const d of deliveries) if (this.buffer.get(d.info.streamSeq) === d) this.buffer.delete(d.info.streamSeq);
  }

  clear(): void {
    this.buffer.clear();
  }

  /**
   * One pull of up to `count` messages, waiting up to `waitMs` for the first. Resolves when it
   * ended (the messages are in the buffer); throws NatsConsumerGoneError when the consumer was
   * deleted or the pull got no answer at all.
   */
  async pull(count: number, waitMs: number): Promise<void> {
    const token = String(++this.n);
    let timer: NodeJS.Timeout | undefined;
    const ended = new Promise<Status | undefined>((resolve) => {
      this.pending = { token, want: count, got: 0, end: resolve };
      timer = setTimeout(() => resolve(undefined), waitMs + ANSWER_GRACE_MS);
    });
    const subject = `$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${this.consumer}`;
    this.nc.publish(subject, JSON.stringify({ batch: count, expires: waitMs * 1_000_000, no_wait: true }), {
      reply: `${this.inbox}.${token}`,
    });
    const status = await ended;
    clearTimeout(timer);
    this.pending = undefined;
    if (status === undefined) {
      if (this.buffer.size > 0) return;
      throw new NatsConsumerGoneError(
        `no answer to a pull from consumer ${this.consumer} on stream ${this.stream} within ${waitMs + ANSWER_GRACE_MS} ms`,
      );
    }
    if (status.code === 404 || status.code === 408 || status.code === 0) return;
    if (status.code === 409 && /deleted/i.test(status.description))
      throw new NatsConsumerGoneError(`consumer ${this.consumer} on stream ${this.stream} was deleted`);
    if (status.code === 409) {
      // Exceeded MaxWaiting, leadership change…: pull again.
      this.log.debug({ code: status.code, description: status.description }, 'nats: pull ended early');
      return;
    }
    throw new Error(
      `pull from consumer ${this.consumer} on stream ${this.stream}: ${status.code} ${status.description}`,
    );
  }

  /** Ends a pull wait at once (stop). */
  interrupt(): void {
    this.pending?.end({ code: 0, description: 'interrupted' });
  }

  stop(): void {
    this.interrupt();
    this.sub?.unsubscribe();
    this.sub = undefined;
  }
}
