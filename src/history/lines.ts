// One event's records, as `|`-separated lines appended to its field in a bucket hash. A line
// costs far less than JSON (the budget is 250 bytes of Redis per attempt); free text (type,
// reasons, response) is escaped so it never holds a separator. Pure.
export interface BridgeLine {
  kind: 'b';
  tenant: string;
  type: string;
  createdAtMs: number;
  atMs: number;
  outcome: 'fanned_out' | 'dead_lettered' | 'unrouted';
  endpoints: string[];
}
export interface DeadLetterLine {
  kind: 'x';
  tenant: string;
  endpoint?: string;
  deadKind: string;
  reason: string;
}
interface AttemptLine {
  kind: 'a';
  tenant: string;
  endpoint: string;
  attempt: number;
  atMs: number;
  status: number | null;
  error?: string;
  latencyMs: number;
  /** What the attempt meant: delivered, to be retried, or the delivery gave up. */
  outcome: 'delivered' | 'retry' | 'failed';
  response: string;
  replay?: true;
}
interface CancelLine {
  kind: 'c';
  tenant: string;
  endpoint: string;
  atMs: number;
  reason: string;
}
export type HistoryLine = BridgeLine | DeadLetterLine | AttemptLine | CancelLine;

export const RESPONSE_MAX_CHARS = 1_024;

const OUTCOME_CODE = { fanned_out: 'f', dead_lettered: 'd', unrouted: 'u' } as const;
const ATTEMPT_CODE = { delivered: 'd', retry: 'r', failed: 'f' } as const;

export function escapeText(s: string): string {
  return s.replace(/[%|\n\r]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}
function unescapeText(s: string): string {
  return s.replace(/%(25|7C|0A|0D)/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}
const t36 = (ms: number) => Math.round(ms).toString(36);
const fromT36 = (s: string) => parseInt(s, 36);

export function encodeLine(l: HistoryLine): string {
  switch (l.kind) {
    case 'b':
      return [
        'b',
        escapeText(l.tenant),
        escapeText(l.type),
        t36(l.createdAtMs),
        t36(l.atMs),
        OUTCOME_CODE[l.outcome],
        l.endpoints.join(','),
      ].join('|');
    case 'x':
      return ['x', escapeText(l.tenant), l.endpoint ?? '', escapeText(l.deadKind), escapeText(l.reason)].join('|');
    case 'a':
      return [
        'a',
        l.tenant,
        l.endpoint,
        l.attempt,
        t36(l.atMs),
        l.status ?? '',
        l.error ?? '',
        Math.round(l.latencyMs),
        ATTEMPT_CODE[l.outcome],
        l.replay ? '1' : '',
        escapeText(l.response.slice(0, RESPONSE_MAX_CHARS)),
      ].join('|');
    case 'c':
      return ['c', l.tenant, l.endpoint, t36(l.atMs), escapeText(l.reason)].join('|');
  }
}

const invert = <K extends string, V extends string>(o: Record<K, V>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [v, k])) as Record<V, K>;
const OUTCOME_OF = invert(OUTCOME_CODE);
const ATTEMPT_OF = invert(ATTEMPT_CODE);

/** Undefined for a line this version cannot read (written by a newer one): skipped, not fatal. */
export function decodeLine(text: string): HistoryLine | undefined {
  const p = text.split('|');
  switch (p[0]) {
    case 'b':
      if (p.length < 7 || OUTCOME_OF[p[5] as 'f'] === undefined) return undefined;
      return {
        kind: 'b',
        tenant: unescapeText(p[1]!),
        type: unescapeText(p[2]!),
        createdAtMs: fromT36(p[3]!),
        atMs: fromT36(p[4]!),
        outcome: OUTCOME_OF[p[5] as 'f'],
        endpoints: p[6] === '' ? [] : p[6]!.split(','),
      };
    case 'x':
      if (p.length < 5) return undefined;
      return {
        kind: 'x',
        tenant: unescapeText(p[1]!),
        ...(p[2] === '' ? {} : { endpoint: p[2]! }),
        deadKind: unescapeText(p[3]!),
        reason: unescapeText(p[4]!),
      };
    case 'a': {
      if (p.length < 11 || ATTEMPT_OF[p[8] as 'd'] === undefined) return undefined;
      return {
        kind: 'a',
        tenant: p[1]!,
        endpoint: p[2]!,
        attempt: Number(p[3]),
        atMs: fromT36(p[4]!),
        status: p[5] === '' ? null : Number(p[5]),
        ...(p[6] === '' ? {} : { error: p[6]! }),
        latencyMs: Number(p[7]),
        outcome: ATTEMPT_OF[p[8] as 'd'],
        ...(p[9] === '1' ? { replay: true as const } : {}),
        response: unescapeText(p.slice(10).join('|')),
      };
    }
    case 'c':
      if (p.length < 5) return undefined;
      return { kind: 'c', tenant: p[1]!, endpoint: p[2]!, atMs: fromT36(p[3]!), reason: unescapeText(p[4]!) };
    default:
      return undefined;
  }
}

/**
 * Lines dropped from the record to keep it under its byte bound (store.ts RECORD_MAX_BYTES):
 * the sum of the `t|<count>` lines the store puts first. 0 when nothing was dropped.
 */
export function droppedLines(values: readonly string[]): number {
  let n = 0;
  for (const v of values) {
    const m = /^t\|(\d+)\n/.exec(v);
    if (m) n += Number(m[1]);
  }
  return n;
}

/** Every line of every bucket value, oldest bucket first (a `t|` count line is skipped). */
export function decodeValues(values: readonly string[]): HistoryLine[] {
  const out: HistoryLine[] = [];
  for (const v of values)
    for (const text of v.split('\n')) {
      const l = decodeLine(text);
      if (l) out.push(l);
    }
  return out;
}
