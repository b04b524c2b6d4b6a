// W3C Trace Context (https://www.w3.org/TR/trace-context/) text checks, pure: what the envelope
// validation (queue/event.ts) accepts and what sdk.ts reads a parent from. A producer's header
// that is not valid is refused like any other bad field, rather than silently starting a new trace.

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\x21-\x7e]*)?$/;
/** The spec's limit on tracestate (32 members of at most 256 characters is far over it anyway). */
export const MAX_TRACESTATE_CHARS = 512;
const TRACESTATE = /^[\x20-\x7e]*$/;

export interface ParsedTraceparent {
  traceId: string;
  spanId: string;
  /** The trace-flags byte (bit 0: sampled). */
  flags: number;
}

/** The parts of a valid traceparent, or undefined. Version 00 must be exactly 55 characters; later versions may extend it. */
export function parseTraceparent(text: string): ParsedTraceparent | undefined {
  const m = TRACEPARENT.exec(text);
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  return { traceId: traceId!, spanId: spanId!, flags: parseInt(flags!, 16) };
}

/** Why a tracestate value is refused, or undefined when it is acceptable. */
export function tracestateProblem(text: string): string | undefined {
  if (text.length > MAX_TRACESTATE_CHARS) return `at most ${MAX_TRACESTATE_CHARS} characters`;
  if (!TRACESTATE.test(text)) return 'visible ASCII and spaces only';
  return undefined;
}
