// Tracing off: one shared span that does nothing and a tracer that hands it out. Nothing is
// allocated per call and nothing is propagated (no traceparent reaches a job or a receiver).
import type { Span, Tracer } from './types.js';

const noopSpan: Span = {
  recording: false,
  set() {},
  fail() {},
  end() {},
  carrier: () => undefined,
  logIds: () => undefined,
};

export const noopTracer: Tracer = {
  enabled: false,
  start: () => noopSpan,
  shutdown: async () => {},
};
