// The worker's spans: one per attempt (`wss.attempt`, CONSUMER, under the bridge span the job
// carries; a retry is a new one in the same trace), and the HTTP CLIENT span of its request,
// after OpenTelemetry's HTTP semantic conventions (http.request.method, server.address,
// server.port, url.full, http.response.status_code, error.type), with the W3C headers that let
// an instrumented receiver continue the trace. The URL goes in without user info, fragment or
// query values (each replaced by REDACTED), so a token in a query string never reaches a collector.
import { DeliveryError } from '../lib/errors.js';
import { redactedUrl } from '../tenants/endpoint-url.js';
import type { DeliveryJobData } from '../queue/job.js';
import type { Span, Tracer } from '../tracing/types.js';

/** Attempt number `attempt` of the job's delivery. */
export function startAttemptSpan(tracer: Tracer, data: DeliveryJobData, attempt: number): Span {
  if (!tracer.enabled) return tracer.start('wss.attempt', { kind: 'consumer' });
  return tracer.start('wss.attempt', {
    kind: 'consumer',
    parent: data.trace,
    // Few attributes: each one is built, kept and encoded on every attempt (the bench measures it).
    attributes: {
      'wss.tenant': data.tenant,
      'wss.endpoint': data.endpoint,
      'wss.event_id': data.eventId,
      'wss.attempt': attempt,
    },
  });
}

/** The endpoint URL as a span may show it. */
export function spanUrl(url: string): { full: string; address: string; port: number } {
  const u = new URL(url);
  const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
  // As the admin API shows it (the path kept, query values hidden), with the conventions' word.
  return { full: redactedUrl(url, 'REDACTED'), address: u.hostname, port };
}

/** Starts the request's span under the attempt's. */
export function startHttpSpan(tracer: Tracer, parent: Span, url: string): Span {
  const u = spanUrl(url);
  return tracer.start('POST', {
    kind: 'client',
    parent,
    attributes: {
      'http.request.method': 'POST',
      'server.address': u.address,
      'server.port': u.port,
      'url.full': u.full,
    },
  });
}

/** traceparent/tracestate of the request's span, set on its headers (the endpoint allowing it). */
export function propagate(span: Span, headers: Record<string, string>): void {
  const c = span.carrier();
  if (c === undefined) return;
  headers['traceparent'] = c.traceparent;
  if (c.tracestate !== undefined) headers['tracestate'] = c.tracestate;
}

/** Ends the span with the receiver's status: 4xx and 5xx are errors (error.type is the status code, per the conventions). */
export function endHttpSpan(span: Span, status: number): void {
  span.set({ 'http.response.status_code': status });
  if (status >= 400) span.fail(String(status));
  span.end();
}

/** Ends the span of a request that got no answer (timeout, refused address, network). */
export function failHttpSpan(span: Span, err: unknown): void {
  span.fail(err instanceof DeliveryError ? err.code : 'Error', err instanceof DeliveryError ? err.message : undefined);
  span.end();
}
