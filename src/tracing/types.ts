// The tracer seam: the small interface the rest of the service traces through, so no module but
// sdk.ts knows OpenTelemetry. Two implementations: noop.ts (tracing off: nothing is allocated,
// nothing is propagated) and sdk.ts (loaded lazily, only when tracing is on). Types only, so
// tracer.ts and sdk.ts both depend on this file and never on each other's values.

/** What a span stands for, as OpenTelemetry's SpanKind. */
export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export type AttrValue = string | number | boolean;
/** Span attributes; undefined values are left out. */
export type Attrs = Readonly<Record<string, AttrValue | undefined>>;

/** W3C Trace Context as text: what travels in envelopes, jobs and webhook requests. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** The ids a log line written inside a span carries (pino child logger fields). */
export interface LogIds {
  trace_id: string;
  span_id: string;
}

export interface Span {
  /** False when the span is not sampled (or tracing is off): attributes are not even built then. */
  readonly recording: boolean;
  set(attrs: Attrs): void;
  /** Status ERROR with `error.type` (a stable code, never a secret) and an optional message. */
  fail(errorType: string, message?: string): void;
  end(): void;
  /** This span's context to propagate; undefined when tracing is off. */
  carrier(): TraceCarrier | undefined;
  logIds(): LogIds | undefined;
}

export interface StartOptions {
  kind: SpanKind;
  /** The parent: a span of this process, or a context that came from elsewhere. None: a new trace. */
  parent?: TraceCarrier | Span | undefined;
  attributes?: Attrs;
}

export interface Tracer {
  /** False for the no-op tracer: callers skip building what only a span would use. */
  readonly enabled: boolean;
  start(name: string, opts: StartOptions): Span;
  /** Exports what is pending; resolves within timeoutMs whatever the collector does. */
  shutdown(timeoutMs: number): Promise<void>;
}
