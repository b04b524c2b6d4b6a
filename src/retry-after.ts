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
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), maxMs);
}
