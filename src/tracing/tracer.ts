// The one way in to tracing: createTracer gives the no-op tracer while tracing is off and loads
// the SDK (sdk.ts, by dynamic import) only when it is on, so `wss` with no OTEL_* variable set
// loads no OpenTelemetry SDK module. (prom-client requires @opentelemetry/api on its own, for
// exemplars; that package is the API only, a few kB, and records nothing.)
import type { SharedConfig } from '../config.js';
import type { Logger } from '../lib/log.js';
import { VERSION } from '../lib/version.js';
import { noopTracer } from './noop.js';
import type { Span, Tracer } from './types.js';

export type { Span, Tracer, TraceCarrier, Attrs, SpanKind } from './types.js';
export { noopTracer } from './noop.js';

export async function createTracer(config: Pick<SharedConfig, 'tracing'>): Promise<Tracer> {
  if (!config.tracing.enabled) return noopTracer;
  const { createSdkTracer } = await import('./sdk.js');
  return createSdkTracer(config.tracing, VERSION);
}

/** `log` with the span's trace_id and span_id on every line (a pino child), or `log` itself when not tracing. */
export function spanLogger(log: Logger, span: Span): Logger {
  const ids = span.logIds();
  return ids === undefined ? log : log.child(ids);
}
