// Redis stream ids ("<ms>-<seq>") compared and stepped exactly: both parts are 64-bit, so
// Number would lose precision and string order is wrong ("9-0" > "10-0").
const MAX_SEQ = (1n << 64n) - 1n;

export function parseStreamId(id: string): [bigint, bigint] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(id);
  if (!m) throw new Error(`not a stream id: "${id}"`);
  return [BigInt(m[1]!), BigInt(m[2] ?? '0')];
}

export function compareStreamIds(a: string, b: string): number {
  const [am, as] = parseStreamId(a);
  const [bm, bs] = parseStreamId(b);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

/** The smallest id greater than `id`. */
export function nextStreamId(id: string): string {
  const [ms, seq] = parseStreamId(id);
  return seq === MAX_SEQ ? `${ms + 1n}-0` : `${ms}-${seq + 1n}`;
}

/** The greatest id smaller than `id` ("0-0" stays). */
export function previousStreamId(id: string): string {
  const [ms, seq] = parseStreamId(id);
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-${MAX_SEQ}` : '0-0';
}

export function maxStreamId(a: string | undefined, b: string): string {
  return a === undefined || compareStreamIds(b, a) > 0 ? b : a;
}
