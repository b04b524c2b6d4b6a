// The times that recover and replay take: an ISO 8601 instant, `now`, or a duration back from now
// (`90s`, `15m`, `2h`, `3d`). Pure: the caller passes the clock in.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
// A date, optionally with a time and a zone; Date.parse alone accepts too much ("1", "May 3").
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

export const TIME_ARG_HELP = 'an ISO 8601 time (2026-05-01T10:00:00Z), "now", or a duration ago (90s, 15m, 2h, 3d)';

/** Milliseconds since the epoch, or undefined when `text` is none of the accepted forms. */
export function parseTimeArg(text: unknown, nowMs: number): number | undefined {
  if (typeof text !== 'string') return undefined;
  const v = text.trim();
  if (v.toLowerCase() === 'now') return nowMs;
  const d = DURATION.exec(v);
  if (d) {
    const ms = Math.round(Number(d[1]) * UNIT_MS[d[2]!]!);
    return Number.isFinite(ms) ? nowMs - ms : undefined;
  }
  if (!ISO.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The time as logs and answers show it. */
export const iso = (ms: number): string => new Date(ms).toISOString();
