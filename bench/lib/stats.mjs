// Small numeric helpers for the bench.

/** Nearest-rank percentile (p in 0..100) of an unsorted array; NaN when empty. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function latencySummary(values) {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values.length ? values.reduce((a, b) => (a > b ? a : b)) : NaN,
  };
}

export function median(values) {
  return percentile(values, 50);
}

/** Events per second from the first to the last of `count` arrivals. */
export function ratePerSec(count, firstAt, lastAt) {
  if (!(count > 1) || !(lastAt > firstAt)) return NaN;
  return ((count - 1) * 1000) / (lastAt - firstAt);
}

export function round(x, digits = 0) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function fmt(x, digits = 0) {
  if (x === undefined || x === null || Number.isNaN(x)) return 'n/a';
  if (typeof x !== 'number') return String(x);
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
