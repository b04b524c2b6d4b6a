// The fields of stream entries the bridge held back by id only (hold-back keeps ids, not fields,
// so a long backlog costs little memory: docs/isolation.md). XRANGE on one id counts no delivery
// and leaves the pending list as it is; held entries are pending, so trimming never removes
// them, but an XDEL can: such an entry comes back with null fields (acknowledged, nothing else).
import type { RedisClient } from '../../../redis/client.js';
import { rangeEntries, type StreamEntry } from '../../../redis/streams/stream-reply.js';
import type { SourceMessage } from '../source.js';

export async function refetchEntries(
  redis: RedisClient,
  stream: string,
  messages: readonly SourceMessage[],
  toMessage: (entry: StreamEntry) => SourceMessage,
): Promise<SourceMessage[]> {
  if (messages.length === 0) return [];
  const p = redis.pipeline();
  for (const m of messages) p.xrange(stream, m.id, m.id);
  const res = (await p.exec()) ?? [];
  return messages.map((m, i) => {
    const [err, reply] = res[i] ?? [new Error('no reply'), null];
    if (err) throw err;
    const entry = rangeEntries(reply)[0];
    return entry?.id === m.id && entry.fields !== null ? toMessage(entry) : { ...m, fields: null };
  });
}
