// What the worker writes to the delivery log per attempt: one attempt line in the event's
// record and, when the delivery settles, one entry in the endpoint's stream of that state.
// Cancelled (the endpoint was deleted or disabled; nothing was sent) is a state, not an attempt.
// Never the request body, a header or a secret: status, error code, latency, first 1 KB of
// the response.
import type { DeliveryError } from '../lib/errors.js';
import type { DeliveryJobData } from '../queue/job.js';
import { encodeLine, RESPONSE_MAX_CHARS, type HistoryLine } from './lines.js';
import type { SettledState } from './keys.js';

/** Error codes that mean the delivery was called off before sending (deliver.ts). */
const CANCEL_CODES: ReadonlySet<string> = new Set(['ENDPOINT_DELETED', 'ENDPOINT_DISABLED']);

export interface AttemptFacts {
  data: Pick<DeliveryJobData, 'eventId' | 'tenant' | 'endpoint'> & { replay?: boolean };
  attempt: number;
  atMs: number;
  latencyMs: number;
  /** Settled outcome of a failed attempt (settle-attempt.ts); undefined when delivered. */
  outcome: 'delivered' | 'retry' | 'failed' | 'disabled';
  status: number | undefined;
  err?: Pick<DeliveryError, 'code' | 'message'> & { snippet?: string | undefined };
  snippet?: string;
}

/** One settled delivery, as the stream of the endpoint's deliveries in that state keeps it (store.ts). */
export interface SettledEntry {
  tenant: string;
  endpoint: string;
  eventId: string;
  state: SettledState;
  attempts: number;
  /** The last attempt's HTTP status, null without an answer. */
  status: number | null;
  error?: string;
}

export interface AttemptRecord {
  eventId: string;
  line: string;
  settled?: SettledEntry;
}

export function attemptRecord(f: AttemptFacts): AttemptRecord {
  const { data } = f;
  const base = { tenant: data.tenant, endpoint: data.endpoint };
  if (f.err && CANCEL_CODES.has(f.err.code)) {
    const line: HistoryLine = { kind: 'c', ...base, atMs: f.atMs, reason: `${f.err.code}: ${f.err.message}` };
    return {
      eventId: data.eventId,
      line: encodeLine(line),
      settled: {
        ...base,
        eventId: data.eventId,
        state: 'cancelled',
        attempts: f.attempt - 1,
        status: null,
        error: f.err.code,
      },
    };
  }
  // A 410 Gone gives up on this delivery (and disables the endpoint): it failed.
  const outcome = f.outcome === 'disabled' ? 'failed' : f.outcome;
  const line: HistoryLine = {
    kind: 'a',
    ...base,
    attempt: f.attempt,
    atMs: f.atMs,
    status: f.status ?? null,
    ...(f.err ? { error: f.err.code } : {}),
    latencyMs: f.latencyMs,
    outcome,
    response: (f.err?.snippet ?? f.snippet ?? '').slice(0, RESPONSE_MAX_CHARS),
    ...(data.replay === true ? { replay: true as const } : {}),
  };
  const state: SettledState | undefined =
    outcome === 'delivered' ? 'delivered' : outcome === 'failed' ? 'failed' : undefined;
  return {
    eventId: data.eventId,
    line: encodeLine(line),
    ...(state
      ? {
          settled: {
            ...base,
            eventId: data.eventId,
            state,
            attempts: f.attempt,
            status: f.status ?? null,
            ...(f.err ? { error: f.err.code } : {}),
          },
        }
      : {}),
  };
}
