// The times that recover and replay take: an ISO 8601 instant, `now`, or a duration back from now
// (`90s`, `15m`, `2h`, `3d`). Pure: the caller passes the clock in.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
// A date, optionally with a time and a zone; Date.parse alone accepts too much ("1", "May 3").
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

export const TIME_ARG_HELP =
  'an ISO 8601 time (2026-05-01T10:00:00Z), "now", or a duration ago (90s, 15m, 2h, 3d), from 1970 on';

/** The last instant a Date can hold (8.64e15 ms, year 275760). */
export const MAX_TIME_MS = 8.64e15;

/** `ms` when it is a time Redis ids and Dates can both hold (0 .. MAX_TIME_MS), else undefined. */
export function inTimeRange(ms: number): number | undefined {
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIME_MS ? ms : undefined;
}

/**
 * Milliseconds since the epoch, or undefined when `text` is none of the accepted forms or
 * lands outside 1970 .. year 275760 ("99999999999999999999d" ago, "0001-01-01").
 */
export function parseTimeArg(text: unknown, nowMs: number): number | undefined {
  if (typeof text !== 'string') return undefined;
  const v = text.trim();
  if (v.toLowerCase() === 'now') return nowMs;
  const d = DURATION.exec(v);
  if (d) return inTimeRange(nowMs - Math.round(Number(d[1]) * UNIT_MS[d[2]!]!));
  if (!ISO.test(v)) return undefined;
  return inTimeRange(Date.parse(v));
}

/** The time as logs and answers show it. */
export const iso = (ms: number): string => new Date(ms).toISOString();
