// Search of settled deliveries, newest first: the streams of the tenant's endpoints (one per
// endpoint and state) read backwards and merged. The order is (stream id desc, stream name
// asc), so a cursor (the last item's id and stream) says exactly where the next page starts in
// every stream, even when several items share a millisecond.
import type { RedisClient } from '../redis/client.js';
import { endpointKeyBase } from '../redis/shards.js';
import { SETTLED_STATES, settledStreamKey, type HistoryKeyConfig, type SettledState } from './keys.js';
import { encodeCursor, type SearchQuery } from './search-query.js';

export interface DeliveryItem {
  tenant: string;
  endpoint: string;
  eventId: string;
  state: SettledState;
  /** When the delivery settled. */
  at: string;
  attempts: number;
  /** The last attempt's HTTP status, null without an answer. */
  status: number | null;
  error?: string;
}

export interface SearchPage {
  deliveries: DeliveryItem[];
  /** Pass back as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

type Entry = [id: string, fields: string[]];

function idParts(id: string): [number, number] {
  const dash = id.indexOf('-');
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

/** Negative when `a` comes first: newer id first, then the stream name. */
export function compareItems(a: { id: string; stream: string }, b: { id: string; stream: string }): number {
  const [am, as] = idParts(a.id);
  const [bm, bs] = idParts(b.id);
  if (am !== bm) return bm - am;
  if (as !== bs) return bs - as;
  return a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0;
}

export async function searchDeliveries(
  redis: RedisClient,
  cfg: HistoryKeyConfig & { retentionMs: number },
  q: SearchQuery,
  endpoints: readonly string[],
  now: number,
): Promise<SearchPage> {
  const states: readonly SettledState[] = q.state ? [q.state] : SETTLED_STATES;
  const streams = endpoints.flatMap((endpoint) =>
    states.map((state) => ({
      endpoint,
      state,
      name: `${endpoint}/${state}`,
      key: settledStreamKey(cfg, q.tenant, endpoint, state),
      base: endpointKeyBase(cfg.prefix, cfg.layout, q.tenant, endpoint),
    })),
  );
  // Entries past the retention wait for the next write to their stream to be trimmed: never shown.
  const start = String(Math.max(q.sinceMs ?? 0, now - cfg.retentionMs, 0));
  const endOf = (name: string) => {
    const c = q.cursor;
    if (c) return name > c.stream ? c.id : `(${c.id}`;
    return q.untilMs === undefined ? '+' : String(q.untilMs);
  };
  // One pipeline per shard tag: on a cluster a pipeline holds the keys of one node only.
  const byBase = new Map<string, typeof streams>();
  for (const s of streams) byBase.set(s.base, [...(byBase.get(s.base) ?? []), s]);
  const replies = await Promise.all(
    [...byBase.values()].map(async (group) => {
      const p = redis.pipeline();
      for (const s of group) p.xrevrange(s.key, endOf(s.name), start, 'COUNT', q.limit + 1);
      const res = (await p.exec()) ?? [];
      return group.map((s, i) => {
        const [err, entries] = res[i] ?? [new Error('no reply'), null];
        if (err) throw err;
        return { s, entries: (entries ?? []) as Entry[] };
      });
    }),
  );
  const items: Array<{ id: string; stream: string; item: DeliveryItem }> = [];
  for (const { s, entries } of replies.flat())
    for (const [id, flat] of entries) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
      items.push({
        id,
        stream: s.name,
        item: {
          tenant: q.tenant,
          endpoint: s.endpoint,
          eventId: f['e'] ?? '',
          state: s.state,
          at: new Date(idParts(id)[0]).toISOString(),
          attempts: Number(f['n'] ?? 0),
          status: f['s'] ? Number(f['s']) : null,
          ...(f['c'] ? { error: f['c'] } : {}),
        },
      });
    }
  items.sort(compareItems);
  const page = items.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    deliveries: page.map((x) => x.item),
    nextCursor: items.length > q.limit && last ? encodeCursor({ id: last.id, stream: last.stream }) : null,
  };
}
