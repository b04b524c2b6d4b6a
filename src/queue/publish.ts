// Adding one event to the stream (`wss publish`, the admin API). Checked with the bridge's own
// rules, so what is accepted here is never dead-lettered as malformed.
import type { RedisClient } from '../redis/client.js';
import { errorMessage, WssError } from '../lib/errors.js';
import { DEFAULT_MAX_EVENT_BYTES, parseEntry } from './event.js';

export class EventRejectedError extends WssError {
  /** The field at fault when it is known (`data` for an event over the size limit). */
  readonly field: string | undefined;
  constructor(message: string, opts: { tooLarge?: boolean; field?: string } = {}) {
    super(opts.tooLarge ? 'EVENT_TOO_LARGE' : 'EVENT_INVALID', message);
    this.field = opts.field;
  }
}

export interface PublishInput {
  tenant: string;
  type: string;
  /** Any JSON value; written to the stream as JSON text. */
  data: unknown;
  /** The producer's event id (deduplication key); default: the stream entry id. */
  id?: string | undefined;
  /** `high`, `normal` or `low` (docs/isolation.md); omitted: normal. */
  priority?: string | undefined;
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
  const parsed = parseEntry('0-0', fields, maxEventBytes);
  if (!parsed.ok) {
    throw new EventRejectedError(
      `event rejected: ${parsed.reason}`,
      parsed.kind === 'too_large' ? { tooLarge: true, field: 'data' } : {},
    );
  }
  return fields;
}

/**
 * XADD without MAXLEN: a length cap would trim entries no bridge has acknowledged yet (the
 * bridge trims safely itself). Returns the stream entry id.
 */
export async function publishEvent(
  redis: RedisClient,
  stream: string,
  input: PublishInput,
  maxEventBytes = DEFAULT_MAX_EVENT_BYTES,
): Promise<string> {
  const fields = eventFields(input, maxEventBytes);
  const id = await redis.xadd(stream, '*', ...Object.entries(fields).flat());
  if (id === null) throw new Error(`XADD to ${stream} returned no id`);
  return id;
}
