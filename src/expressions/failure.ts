// Why an expression failed, in words that never quote event data. jsonata's own messages
// interpolate values ($number(data.card) → `Unable to cast value to a number: "4111…"`), so a
// reason is built from the error's code and position alone, with a fixed text per code.

/** timeout: ran past the deadline; memory/recursion: blew a limit; error: an ordinary failure. */
type ExprFailureKind = 'timeout' | 'memory' | 'recursion' | 'error';

export interface ExprFailure {
  kind: ExprFailureKind;
  /** jsonata's code (e.g. D3030), or one of ours (WSS_*). */
  code: string;
  /** Character offset in the expression, when jsonata gives one. */
  position?: number | undefined;
}

// Codes of our own, for failures jsonata does not name.
export const WSS_CODES = {
  /** The thread was terminated: one evaluation ran past the hard deadline (a regex, say). */
  killed: 'WSS_DEADLINE',
  /** The thread ran out of its heap (resourceLimits). */
  heap: 'WSS_HEAP',
  /** A RangeError: the stack overflowed. */
  stack: 'WSS_STACK',
  /** A RangeError: a string or array grew past what V8 allows. */
  size: 'WSS_SIZE',
  empty: 'WSS_EMPTY',
  /** Anything thrown without a code. */
  other: 'WSS_ERROR',
} as const;

const LIMIT_KIND: Record<string, ExprFailureKind> = {
  D1011: 'recursion',
  D1012: 'timeout',
  D2014: 'memory',
  D2015: 'memory',
  [WSS_CODES.killed]: 'timeout',
  [WSS_CODES.heap]: 'memory',
  [WSS_CODES.stack]: 'recursion',
  [WSS_CODES.size]: 'memory',
};

const TEXT: Record<string, string> = {
  D1011: 'recursion went deeper than the limit',
  D1012: 'ran past the time limit',
  D2014: 'a range (..) was larger than the limit',
  D2015: 'a sequence grew larger than the limit',
  [WSS_CODES.killed]: 'ran past the hard deadline; its thread was terminated',
  [WSS_CODES.heap]: 'ran out of memory; its thread was terminated',
  [WSS_CODES.stack]: 'the stack overflowed',
  [WSS_CODES.size]: 'a string or array grew past the size limit',
  [WSS_CODES.empty]: 'the transform produced nothing',
  D3137: '$error() was called',
  D3030: 'a value could not be cast to a number',
  T2001: 'the left side of an arithmetic operator is not a number',
  T2002: 'the right side of an arithmetic operator is not a number',
  T0410: 'a function argument does not match its signature',
  D1001: 'a number is out of range',
  D3141: '$assert() failed',
};

/** True for a timeout or a blown limit (not an ordinary error). */
export function isLimit(kind: ExprFailureKind): boolean {
  return kind !== 'error';
}

export function failureFrom(code: string, position?: number): ExprFailure {
  return { kind: LIMIT_KIND[code] ?? 'error', code, ...(position === undefined ? {} : { position }) };
}

/** Classifies anything an evaluation threw. Reads only `code`, `position` and the kind of RangeError. */
export function classifyThrown(err: unknown): ExprFailure {
  const e = err as { code?: unknown; position?: unknown } | null;
  const position = typeof e?.position === 'number' && Number.isFinite(e.position) ? e.position : undefined;
  if (typeof e?.code === 'string' && /^([A-Z]{1,4}\d{4}|WSS_[A-Z]+)$/.test(e.code))
    return failureFrom(e.code, position);
  if (err instanceof RangeError) {
    // V8's RangeError messages are fixed texts, never values.
    return failureFrom(/call stack/i.test(err.message) ? WSS_CODES.stack : WSS_CODES.size, position);
  }
  return failureFrom(WSS_CODES.other, position);
}

/** e.g. `timeout: ran past the time limit (D1012 at position 23)` — no value ever appears. */
export function describeFailure(f: ExprFailure): string {
  const text = TEXT[f.code] ?? 'evaluation failed';
  return `${f.kind}: ${text} (${f.code}${f.position === undefined ? '' : ` at position ${f.position}`})`;
}
