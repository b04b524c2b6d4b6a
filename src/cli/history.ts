// `wss status <eventId>` and `wss deliveries`: the delivery log, read straight from Redis
// (docs/delivery-log.md). A table on a terminal, outside data with its control characters
// escaped (lib/terminal.ts); `--json` prints what the admin API answers.
import { parseArgs } from 'node:util';
import { JSON_FLAG, TARGET_FLAGS, withRegistry } from './common.js';
import type { Config } from '../config.js';
import { UsageError, WssError } from '../lib/errors.js';
import { EVENT_ID_PATTERN } from '../queue/event.js';
import type { EventStatus } from '../history/event-status.js';
import { lookupEvent } from '../history/lookup.js';
import { HistoryStore } from '../history/store.js';
import { DeliveryQueues } from '../queue/delivery-queues.js';
import { searchDeliveries, type SearchPage } from '../history/search.js';
import { parseSearchQuery, SearchQueryError, type SearchQuery } from '../history/search-query.js';
import type { Logger } from '../lib/log.js';
import { escapeControls, terminalJson } from '../lib/terminal.js';
import { ID_PATTERN } from '../tenants/schema.js';

class NotFound extends WssError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** Left-aligned columns, two spaces apart; every cell with its control characters escaped. */
export function table(rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const cells = rows.map((r) => r.map(escapeControls));
  const widths: number[] = [];
  for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

const oneLine = (s: string, max: number) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};
// Outside data in a line of text (a table escapes its own cells).
const x = escapeControls;

function statusText(s: EventStatus): string {
  const out: string[] = [];
  if (s.droppedLines !== undefined)
    out.push(
      `(${s.droppedLines} older lines of this event's record were dropped to keep it under 64 KB: newest shown)`,
    );
  for (const e of s.events) {
    out.push(
      `event ${x(s.eventId)}  tenant ${x(e.tenant)}  type ${x(e.type ?? '?')}  created ${x(e.createdAt ?? '?')}`,
    );
    if (e.bridge) {
      const to = e.bridge.endpoints.length > 0 ? ` to ${x(e.bridge.endpoints.join(', '))}` : '';
      out.push(`bridge: ${e.bridge.outcome}${to} at ${x(e.bridge.at)}`);
      for (const d of e.bridge.deadLetters)
        out.push(`  dead letter${d.endpoint ? ` (${x(d.endpoint)})` : ''}: ${x(d.kind)}: ${x(d.reason)}`);
    } else out.push('bridge: no record (not from the stream, or older than the retention)');
    const rows: string[][] = [['ENDPOINT', 'STATE', 'ATTEMPTS', 'LAST', 'NEXT ATTEMPT / REASON']];
    for (const d of e.deliveries) {
      const last = d.attempts[d.attempts.length - 1];
      rows.push([
        d.endpoint,
        d.state,
        String(d.attempts.length),
        last ? (last.status !== null ? String(last.status) : (last.error ?? '')) : '',
        d.delayReason !== undefined
          ? `${d.nextAttemptAt ?? ''} (${d.delayReason})`.trim()
          : (d.nextAttemptAt ?? d.cancelReason ?? ''),
      ]);
    }
    out.push('', table(rows));
    for (const d of e.deliveries) {
      const o = d.ordering;
      if (!o) continue;
      const seq = o.sequence === undefined ? 'no sequence yet' : `sequence ${o.sequence}`;
      const wait =
        o.blockedBy !== undefined
          ? `; key blocked by ${x(o.blockedBy)}`
          : o.waitingBehind !== undefined
            ? `; waits behind ${x(o.waitingBehind)}`
            : '';
      out.push(`ordering (${x(d.endpoint)}): key ${x(o.key)}, ${seq}${wait}`);
    }
    const attempts: string[][] = [['ENDPOINT', '#', 'AT', 'STATUS', 'MS', 'RESPONSE']];
    for (const d of e.deliveries)
      for (const a of d.attempts)
        attempts.push([
          d.endpoint,
          `${a.attempt}${a.replay ? ' (replay)' : ''}`,
          a.at,
          a.status !== null ? `${a.status}${a.error ? ` ${a.error}` : ''}` : (a.error ?? ''),
          String(a.latencyMs),
          oneLine(a.response, 60),
        ]);
    if (attempts.length > 1) out.push('', table(attempts));
    out.push('');
  }
  return out.join('\n');
}

export async function cmdStatus(args: string[], config: Config, log: Logger): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { tenant: TARGET_FLAGS.tenant, ...JSON_FLAG },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('wss status needs exactly one event id');
  const eventId = positionals[0]!;
  if (!EVENT_ID_PATTERN.test(eventId))
    throw new UsageError('the event id must be 1-200 characters of A-Z a-z 0-9 . _ ~ -');
  if (values.tenant !== undefined && !ID_PATTERN.test(values.tenant))
    throw new UsageError('--tenant must match ^[a-z0-9][a-z0-9_-]{0,62}$');
  const status = await withRegistry(config, log, async (registry, redis) => {
    const queues = new DeliveryQueues(redis, config.prefix, config.layout);
    try {
      const snap = await registry.refresh();
      return await lookupEvent(
        {
          store: new HistoryStore(redis, { prefix: config.prefix, layout: config.layout, ...config.history }),
          redis,
          queueFor: (t, e) => queues.forEndpoint(t, e).queue,
          endpointsOf: (t) => [...(snap.tenants.get(t)?.endpoints.keys() ?? [])],
        },
        eventId,
        values.tenant === undefined ? {} : { tenant: values.tenant },
      );
    } finally {
      await queues.close();
    }
  });
  if (!status)
    throw new NotFound(
      `event "${eventId}" not found${values.tenant ? ` for tenant "${values.tenant}"` : ''} (older than WSS_HISTORY_RETENTION, or never published)`,
    );
  process.stdout.write(values.json ? `${terminalJson(status, 2)}\n` : statusText(status));
}

function deliveriesText(page: SearchPage): string {
  const rows: string[][] = [['AT', 'ENDPOINT', 'EVENT', 'STATE', 'ATTEMPTS', 'LAST']];
  for (const d of page.deliveries)
    rows.push([
      d.at,
      d.endpoint,
      d.eventId,
      d.state,
      String(d.attempts),
      d.status !== null ? `${d.status}${d.error ? ` ${d.error}` : ''}` : (d.error ?? ''),
    ]);
  const more = page.nextCursor ? `\nmore: --cursor ${x(page.nextCursor)}` : '';
  return `${page.deliveries.length === 0 ? 'no deliveries match' : table(rows)}${more}\n`;
}

export async function cmdDeliveries(args: string[], config: Config, log: Logger): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_FLAGS,
      state: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      ...JSON_FLAG,
    },
    strict: true,
  });
  const { json, ...filters } = values;
  let q: SearchQuery;
  try {
    q = parseSearchQuery(filters, Date.now());
  } catch (err) {
    if (err instanceof SearchQueryError) throw new UsageError(`--${err.field}: ${err.detail}`);
    throw err;
  }
  const page = await withRegistry(config, log, async (registry, redis) => {
    const tenant = (await registry.refresh()).tenants.get(q.tenant);
    if (!tenant) throw new NotFound(`--tenant: tenant "${q.tenant}" not found`);
    if (q.endpoint !== undefined && !tenant.endpoints.has(q.endpoint))
      throw new NotFound(`--endpoint: endpoint "${q.endpoint}" of tenant "${q.tenant}" not found`);
    const endpoints = q.endpoint !== undefined ? [q.endpoint] : [...tenant.endpoints.keys()].sort();
    return searchDeliveries(redis, { ...config, ...config.history }, q, endpoints, Date.now());
  });
  process.stdout.write(json ? `${terminalJson(page, 2)}\n` : deliveriesText(page));
}
