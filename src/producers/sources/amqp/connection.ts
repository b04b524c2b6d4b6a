// Reaching RabbitMQ, for the bridge's AMQP source and for publishers: a connection named after
// its process (`rabbitmqctl list_connections client_properties` shows it), errors that never
// carry the password, and the queue declared once in the same way by whoever comes first.
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { errorMessage, WssError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';

/** The broker could not be reached, or dropped what this process held on it. */
export class AmqpUnavailableError extends WssError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AMQP_UNAVAILABLE', message, options);
  }
}

/** A queue this process cannot use as it is (the broker refused to declare or consume it). */
export class AmqpQueueError extends WssError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AMQP_QUEUE', message, options);
  }
}

const CONNECT_TIMEOUT_MS = 5_000;

/** What logs, errors and `/readyz` may show of WSS_AMQP_URL: never the password, nor the query. */
export function describeAmqpUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    u.search = '';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** `text` with the URL's password (as written and decoded) replaced by `***`. */
export function redactPassword(text: string, url: string): string {
  let password = '';
  try {
    password = new URL(url).password;
  } catch {
    return text;
  }
  if (password === '') return text;
  let out = text.split(password).join('***');
  const decoded = decodeURIComponent(password);
  if (decoded !== '') out = out.split(decoded).join('***');
  return out;
}

/** A connection named `name`, or AmqpUnavailableError saying where and why (no password). */
export async function openConnection(url: string, name: string): Promise<ChannelModel> {
  try {
    return await amqp.connect(url, { clientProperties: { connection_name: name }, timeout: CONNECT_TIMEOUT_MS });
  } catch (err) {
    throw new AmqpUnavailableError(
      `amqp: cannot connect to ${describeAmqpUrl(url)}: ${redactPassword(errorMessage(err), url)}`,
    );
  }
}

const codeOf = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;

export interface QueueFacts {
  /** A quorum queue: it counts deliveries (`x-delivery-count`), so poison messages are bounded. */
  quorum: boolean;
  /** This call declared it. */
  created: boolean;
}

/**
 * Declares `queue` durable as a quorum queue when it is absent. An existing queue is used as it
 * is: declaring it again as quorum tells whether it is one (RabbitMQ refuses an inequivalent
 * `x-queue-type`). Each probe runs on a throwaway channel (a refusal closes the channel).
 */
export async function ensureQueue(conn: ChannelModel, queue: string): Promise<QueueFacts> {
  type Outcome = { ok: true } | { ok: false; err: unknown };
  const attempt = async (fn: (ch: Channel) => Promise<unknown>): Promise<Outcome> => {
    const ch = await conn.createChannel();
    ch.on('error', () => {}); // the refusal also rejects fn's promise, where it is handled
    try {
      await fn(ch);
      return { ok: true };
    } catch (err) {
      return { ok: false, err };
    } finally {
      await ch.close().catch(() => undefined);
    }
  };
  const quorumArgs = { durable: true, arguments: { 'x-queue-type': 'quorum' } };

  const exists = await attempt((ch) => ch.checkQueue(queue));
  if (!exists.ok) {
    if (codeOf(exists.err) !== 404) throw queueError(queue, 'checking', exists.err);
    // Another process may declare it at the same moment, as a quorum queue too: no conflict.
    const made = await attempt((ch) => ch.assertQueue(queue, quorumArgs));
    if (!made.ok) throw queueError(queue, 'declaring', made.err);
    return { quorum: true, created: true };
  }
  const same = await attempt((ch) => ch.assertQueue(queue, quorumArgs));
  if (same.ok) return { quorum: true, created: false };
  if (codeOf(same.err) !== 406) throw queueError(queue, 'checking', same.err);
  // Refused for another argument (x-delivery-limit, x-max-length, …): a quorum queue of the
  // operator's own making. Refused for its type: classic (or a stream).
  return { quorum: !/x-queue-type/.test(errorMessage(same.err)), created: false };
}

function queueError(queue: string, doing: string, err: unknown): AmqpQueueError {
  return new AmqpQueueError(`amqp: ${doing} queue "${queue}" failed: ${errorMessage(err)}`, { cause: err });
}

/** The warning for a queue that counts no deliveries (the logger names the queue). */
export function warnUncounted(log: Logger): void {
  log.warn(
    'amqp: the queue exists and is not a quorum queue: RabbitMQ counts no deliveries on it, so a message that kills every bridge is never dead-lettered as poison (WSS_MAX_ENTRY_DELIVERIES does not apply); use a quorum queue (docs/sources/amqp.md)',
  );
}
