// The bridge's spans (docs/observability.md#traces): one CONSUMER span per event with
// deliveries, child of the producer's traceparent. One trace per event, so the bridge step sits
// inside each event's trace rather than in a batch trace reached by links (a link makes no
// parent). The bridge ends them once the batch is acknowledged.
import type { WssEvent } from '../queue/event.js';
import type { Span, TraceCarrier, Tracer } from '../tracing/types.js';

/** Given the batch's span list, planning's `trace` hook; undefined while tracing is off. */
export function bridgeSpans(
  tracer: Tracer,
  sourceKind: string,
): (spans: Span[]) => ((event: WssEvent, deliveries: number) => TraceCarrier | undefined) | undefined {
  return (spans) =>
    tracer.enabled
      ? (event, deliveries) => {
          const span = tracer.start('wss.bridge', {
            kind: 'consumer',
            parent: event.trace,
            attributes: {
              'messaging.system': sourceKind,
              'wss.tenant': event.tenant,
              'wss.event_id': event.id,
              'wss.event_type': event.type,
              'wss.deliveries': deliveries,
            },
          });
          spans.push(span);
          return span.carrier();
        }
      : undefined;
}
