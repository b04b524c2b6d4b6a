// The OpenTelemetry SDK behind our tracer seam (types.ts). Loaded only by tracer.ts's dynamic
// import when tracing is on, so a process with tracing off never loads an SDK module. Configured
// from config.tracing alone (the standard OTEL_* variables, parsed in config/settings.ts): the
// SDK's own env-reading wrappers (sdk-trace-base's shims, sdk-node) are not used. No global
// provider or context manager is registered: parents are passed explicitly, so there is no
// AsyncLocalStorage cost on every await. Spans are batched and exported off the hot path.
import {
  createTraceState,
  ROOT_CONTEXT,
  SpanKind as OtelKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span as OtelSpan,
} from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { SharedConfig } from '../config.js';
import { parseTraceparent } from './context.js';
import type { Attrs, LogIds, Span, SpanKind, StartOptions, TraceCarrier, Tracer } from './types.js';

type TracingConfig = SharedConfig['tracing'];

const KINDS: Record<SpanKind, OtelKind> = {
  internal: OtelKind.INTERNAL,
  server: OtelKind.SERVER,
  client: OtelKind.CLIENT,
  producer: OtelKind.PRODUCER,
  consumer: OtelKind.CONSUMER,
};

// Sized for bursts of thousands of deliveries a second (three spans each): a queue that
// overflows drops spans, never blocks a delivery. Exported every second, or at once in batches
// of 1024 (each batch is encoded in one go on the event loop: larger ones block it longer).
const BATCH = { maxQueueSize: 32_768, maxExportBatchSize: 1_024, scheduledDelayMillis: 1_000 };

function sampler(t: TracingConfig): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(t.samplerArg);
  switch (t.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function exporter(t: TracingConfig): SpanExporter {
  if (t.exporter === 'console') return new ConsoleSpanExporter();
  const opts = { url: t.url, timeoutMillis: 10_000 };
  return t.protocol === 'http/json' ? new JsonExporter(opts) : new ProtoExporter(opts);
}

class SdkSpan implements Span {
  readonly recording: boolean;
  constructor(readonly inner: OtelSpan) {
    this.recording = inner.isRecording();
  }
  set(attrs: Attrs): void {
    // The SDK skips undefined values itself.
    if (this.recording) this.inner.setAttributes(attrs);
  }
  fail(errorType: string, message?: string): void {
    if (!this.recording) return;
    this.inner.setAttribute('error.type', errorType);
    this.inner.setStatus({ code: SpanStatusCode.ERROR, ...(message === undefined ? {} : { message }) });
  }
  end(): void {
    this.inner.end();
  }
  carrier(): TraceCarrier {
    const sc = this.inner.spanContext();
    const traceparent = `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`;
    const state = sc.traceState?.serialize();
    return state ? { traceparent, tracestate: state } : { traceparent };
  }
  logIds(): LogIds {
    const sc = this.inner.spanContext();
    return { trace_id: sc.traceId, span_id: sc.spanId };
  }
}

function parentContext(parent: StartOptions['parent']): Context {
  if (parent === undefined) return ROOT_CONTEXT;
  if (parent instanceof SdkSpan) return trace.setSpan(ROOT_CONTEXT, parent.inner);
  const { traceparent, tracestate } = parent as TraceCarrier;
  const p = parseTraceparent(traceparent);
  if (!p) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: p.traceId,
    spanId: p.spanId,
    traceFlags: p.flags & 1,
    isRemote: true,
    ...(tracestate ? { traceState: createTraceState(tracestate) } : {}),
  });
}

/** The SDK tracer: OTLP over HTTP (protobuf or JSON), or the console. */
export function createSdkTracer(t: TracingConfig, version: string): Tracer {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      ...t.resourceAttributes,
      'service.name': t.serviceName,
      'service.version': version,
    }),
    sampler: sampler(t),
    spanProcessors: [new BatchSpanProcessor({ exporter: exporter(t), ...BATCH })],
  });
  const tracer = provider.getTracer('webhook-sender', version);
  return {
    enabled: true,
    start(name, opts) {
      // Passed as they are: the SDK skips undefined values (one copy less per span).
      const attributes = opts.attributes as Record<string, string | number | boolean> | undefined;
      return new SdkSpan(
        tracer.startSpan(
          name,
          { kind: KINDS[opts.kind], ...(attributes ? { attributes } : {}) },
          parentContext(opts.parent),
        ),
      );
    },
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([provider.shutdown().catch(() => undefined), late]);
      clearTimeout(timer);
    },
  };
}
