// GET /api/events/:id and `wss status`: the event's history lines merged with the live state of
// its jobs in BullMQ (waiting, delayed, active) while they exist. After BullMQ removed a job,
// the history alone answers (docs/delivery-log.md#event-status).
import type { HistoryLine } from './lines.js';

type DeliveryState = 'waiting' | 'delayed' | 'active' | 'delivered' | 'failed' | 'cancelled';

interface AttemptView {
  attempt: number;
  at: string;
  status: number | null;
  error?: string;
  latencyMs: number;
  response: string;
  replay?: true;
}

interface DeliveryView {
  endpoint: string;
  state: DeliveryState;
  nextAttemptAt?: string;
  /** Why it is delayed: circuit open, endpoint disabled, an endpoint limit, or a retry's backoff. */
  delayReason?: string;
  cancelReason?: string;
  /** An ordered delivery (docs/ordering.md): its key, sequence, and the job it waits behind or that blocks its key. */
  ordering?: OrderingView;
  attempts: AttemptView[];
}

export interface OrderingView {
  key: string;
  sequence?: number;
  waitingBehind?: string;
  blockedBy?: string;
}

interface BridgeView {
  outcome: 'fanned_out' | 'dead_lettered' | 'unrouted';
  at: string;
  endpoints: string[];
  deadLetters: Array<{ endpoint?: string; kind: string; reason: string }>;
}

export interface EventView {
  tenant: string;
  type: string | null;
  createdAt: string | null;
  /** Null when the bridge did not handle the event (a test event of the admin API). */
  bridge: BridgeView | null;
  deliveries: DeliveryView[];
}

export interface EventStatus {
  eventId: string;
  events: EventView[];
  /**
   * Oldest lines dropped from the event's record to keep it under its byte bound (an event id
   * reused many times): the attempts shown are the newest. Absent when none were dropped.
   */
  droppedLines?: number;
}

/** What BullMQ says of one job, when it still exists. */
export interface LiveJob {
  state: 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';
  nextAttemptAtMs?: number;
  delayReason?: string;
  type?: string;
  createdAtMs?: number;
  ordering?: OrderingView;
}

interface TenantDraft {
  bridge?: Extract<HistoryLine, { kind: 'b' }>;
  dead: Map<string, { endpoint?: string; kind: string; reason: string }>;
  endpoints: Map<string, Array<Extract<HistoryLine, { kind: 'a' | 'c' }>>>;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The tenants and, per tenant, the endpoints the lines know of (to look their jobs up). */
export function groupLines(lines: readonly HistoryLine[]): Map<string, TenantDraft> {
  const tenants = new Map<string, TenantDraft>();
  const of = (t: string) => {
    let d = tenants.get(t);
    if (!d) tenants.set(t, (d = { dead: new Map(), endpoints: new Map() }));
    return d;
  };
  const ep = (d: TenantDraft, e: string) => {
    let list = d.endpoints.get(e);
    if (!list) d.endpoints.set(e, (list = []));
    return list;
  };
  for (const l of lines) {
    const d = of(l.tenant);
    if (l.kind === 'b') {
      // A re-read batch writes its bridge record again: the last one stands.
      d.bridge = l;
      for (const e of l.endpoints) ep(d, e);
    } else if (l.kind === 'x') {
      d.dead.set(`${l.endpoint ?? ''}\n${l.deadKind}\n${l.reason}`, {
        ...(l.endpoint === undefined ? {} : { endpoint: l.endpoint }),
        kind: l.deadKind,
        reason: l.reason,
      });
    } else ep(d, l.endpoint).push(l);
  }
  return tenants;
}

/** Live states win while the job waits or runs (e.g. put back by a recover); else the history. */
function deliveryOf(endpoint: string, lines: ReadonlyArray<Extract<HistoryLine, { kind: 'a' | 'c' }>>, live?: LiveJob) {
  const sorted = [...lines].sort((a, b) => a.atMs - b.atMs);
  const attempts: AttemptView[] = [];
  for (const l of sorted)
    if (l.kind === 'a')
      attempts.push({
        attempt: l.attempt,
        at: iso(l.atMs),
        status: l.status,
        ...(l.error === undefined ? {} : { error: l.error }),
        latencyMs: l.latencyMs,
        response: l.response,
        ...(l.replay ? { replay: true as const } : {}),
      });
  const last = sorted[sorted.length - 1];
  const view: DeliveryView = { endpoint, state: 'waiting', attempts };
  if (live && (live.state === 'waiting' || live.state === 'active' || live.state === 'delayed')) {
    view.state = live.state;
    if (live.state === 'delayed' && live.nextAttemptAtMs !== undefined) view.nextAttemptAt = iso(live.nextAttemptAtMs);
    if (live.state === 'delayed' && live.delayReason !== undefined) view.delayReason = live.delayReason;
  } else if (last?.kind === 'c') {
    view.state = 'cancelled';
    view.cancelReason = last.reason;
  } else if (live?.state === 'completed') {
    // Completion is final and comes after any failure the lines record (a recovered job).
    view.state = 'delivered';
  } else if (last?.kind === 'a' && last.outcome !== 'retry') {
    view.state = last.outcome;
  } else if (live?.state === 'failed') view.state = 'failed';
  // Else: no job and no settled line (the job was removed by hand, or its last line was lost):
  // after a failed attempt it would be delayed; without one it is reported waiting.
  else if (last?.kind === 'a') view.state = 'delayed';
  if (live?.ordering) view.ordering = live.ordering;
  return view;
}

export function eventView(tenant: string, d: TenantDraft, live: ReadonlyMap<string, LiveJob | undefined>): EventView {
  const jobs = [...live.values()].filter((j): j is LiveJob => j !== undefined);
  const b = d.bridge;
  const type = b?.type ?? jobs.find((j) => j.type !== undefined)?.type ?? null;
  const createdAtMs = b?.createdAtMs ?? jobs.find((j) => j.createdAtMs !== undefined)?.createdAtMs;
  return {
    tenant,
    type,
    createdAt: createdAtMs === undefined ? null : iso(createdAtMs),
    bridge: b
      ? { outcome: b.outcome, at: iso(b.atMs), endpoints: [...b.endpoints], deadLetters: [...d.dead.values()] }
      : null,
    deliveries: [...d.endpoints.entries()]
      .filter(([e, lines]) => lines.length > 0 || live.get(e) !== undefined || b?.endpoints.includes(e))
      .map(([e, lines]) => deliveryOf(e, lines, live.get(e)))
      .sort((x, y) => x.endpoint.localeCompare(y.endpoint)),
  };
}
