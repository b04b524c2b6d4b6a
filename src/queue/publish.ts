// Adding one event to the source (`wss publish`, the admin API, operational events). Checked
// with the bridge's own rules, so what is accepted here is never dead-lettered as malformed.
import type { EventPublisher } from '../producers/sources/source.js';
import { streamPublisher } from '../producers/sources/redis-stream/publisher.js';
import type { RedisClient } from '../redis/client.js';
import { errorMessage, WssError } from '../lib/errors.js';
import type { Tracer } from '../tracing/types.js';
import { DEFAULT_MAX_EVENT_BYTES, parseEntry } from './event.js';

export class EventRejectedError extends WssError {
  /** The field at fault when it is known (`data` for an event over the size limit). */
  readonly field: string | undefined;
  constructor(message: string, opts: { tooLarge?: boolean; field?: string } = {}) {
    super(opts.tooLarge ? 'EVENT_TOO_LARGE' : 'EVENT_INVALID', message);
    this.field = opts.field;
  }
}

interface PublishInput {
  tenant: string;
  type: string;
  /** Any JSON value; written to the stream as JSON text. */
  data: unknown;
  /** The producer's event id (deduplication key); default: the stream entry id. */
  id?: string | undefined;
  /** `high`, `normal` or `low` (docs/isolation.md); omitted: normal. */
  priority?: string | undefined;
  /** W3C trace context the bridge continues (docs/observability.md): the publisher's span. */
  traceparent?: string | undefined;
  tracestate?: string | undefined;
  /** Deliveries of one key to one endpoint go in order (docs/ordering.md). */
  orderingKey?: string | undefined;
}

/** The stream entry's fields, validated (`data` at most maxEventBytes). Throws EventRejectedError. */
export function eventFields(input: PublishInput, maxEventBytes = DEFAULT_MAX_EVENT_BYTES): Record<string, string> {
  let data: string | undefined;
  try {
    data = JSON.stringify(input.data);
  } catch (err) {
    throw new EventRejectedError(`event rejected: data cannot be written as JSON: ${errorMessage(err)}`);
  }
  if (data === undefined) throw new EventRejectedError('event rejected: data cannot be written as JSON');
  const fields: Record<string, string> = { tenant: input.tenant, type: input.type, data };
  if (input.id !== undefined) fields['id'] = input.id;
  if (input.priority !== undefined) fields['priority'] = input.priority;
  if (input.traceparent !== undefined) fields['traceparent'] = input.traceparent;
  if (input.tracestate !== undefined) fields['tracestate'] = input.tracestate;
  if (input.orderingKey !== undefined) fields['orderingKey'] = input.orderingKey;
  const parsed = parseEntry('0-0', fields, maxEventBytes);
  if (!parsed.ok) {
    throw new EventRejectedError(
      `event rejected: ${parsed.reason}`,
      parsed.kind === 'too_large' ? { tooLarge: true, field: 'data' } : {},
    );
  }
  return fields;
}

/** Validates, then publishes to the source. Returns the source's reference (a stream entry id). */
export async function publishTo(
  publisher: EventPublisher,
  input: PublishInput,
  maxEventBytes = DEFAULT_MAX_EVENT_BYTES,
): Promise<string> {
  return publisher.publish(eventFields(input, maxEventBytes));
}

/** publishTo a Redis Stream on `redis` (tests, and tools that write to a stream whatever WSS_SOURCE says). */
export function publishEvent(
  redis: RedisClient,
  stream: string,
  input: PublishInput,
  maxEventBytes = DEFAULT_MAX_EVENT_BYTES,
): Promise<string> {
  return publishTo(streamPublisher(redis, stream), input, maxEventBytes);
}

/**
 * publishTo inside a PRODUCER span (`wss.publish`), whose context goes into the envelope as
 * `traceparent`/`tracestate`: the bridge continues it. A traceparent in `input` (the caller's
 * own trace) becomes the span's parent. With tracing off this is publishTo itself.
 */
export async function publishTraced(
  tracer: Tracer,
  publisher: EventPublisher,
  input: PublishInput,
  opts: { maxEventBytes: number; source: string },
): Promise<string> {
  if (!tracer.enabled) return publishTo(publisher, input, opts.maxEventBytes);
  eventFields(input, opts.maxEventBytes); // a bad traceparent is refused before it could parent a span
  const parent =
    input.traceparent === undefined
      ? undefined
      : { traceparent: input.traceparent, ...(input.tracestate ? { tracestate: input.tracestate } : {}) };
  const span = tracer.start('wss.publish', {
    kind: 'producer',
    parent,
    attributes: {
      'messaging.system': opts.source,
      'messaging.operation.type': 'send',
      'wss.tenant': input.tenant,
      'wss.event_type': input.type,
      'wss.event_id': input.id,
    },
  });
  try {
    const ref = await publishTo(publisher, { ...input, ...span.carrier() }, opts.maxEventBytes);
    span.set({ 'messaging.message.id': ref });
    return ref;
  } catch (err) {
    span.fail(err instanceof WssError ? err.code : 'Error');
    throw err;
  } finally {
    span.end();
  }
}
