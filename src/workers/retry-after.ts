/**
 * Parses a Retry-After header (delta-seconds or HTTP-date) into milliseconds from `nowMs`,
 * capped at `maxMs`. Returns undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number, maxMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(v)) {
    ms = Number(v) * 1000;
  } else {
    // HTTP-date (all three RFC 9110 forms start with a day name). Without this check V8's
    // lenient Date.parse would read "-5" or "1.5" as dates.
    if (!/^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s/i.test(v)) return undefined;
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), maxMs);
}
