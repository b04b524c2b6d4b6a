// The pieces of tracing that need no process: the OTEL_* settings, the envelope's traceparent
// and tracestate checks on every source's envelope, the reserved headers, the endpoint setting,
// the URL a span may show, and the tracer seam (no-op, and the SDK behind it) with its sampling.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { parseEnvelope } from '../src/queue/event.js';
import { eventFields } from '../src/queue/publish.js';
import { headerProblems } from '../src/tenants/headers.js';
import { parseTenantsFile } from '../src/tenants/schema.js';
import { bodyFields } from '../src/producers/sources/amqp/envelope.js';
import { natsFields } from '../src/producers/sources/nats/envelope.js';
import { spanUrl } from '../src/workers/spans.js';
import { createTracer, noopTracer } from '../src/tracing/tracer.js';
import { parseTraceparent } from '../src/tracing/context.js';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const origin = { defaultEventId: '1-0', createdAtMs: 1 };
const base = { tenant: 'acme', type: 't.x', data: '{}' };

describe('OTEL_* settings', () => {
  const tracing = (env: Record<string, string>) => parseConfig(env).tracing;

  it('is off with no variable, and while OTEL_TRACES_EXPORTER=none even with an endpoint', () => {
    expect(tracing({}).enabled).toBe(false);
    expect(tracing({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).enabled).toBe(false);
  });

  it('an endpoint turns it on: the base gets /v1/traces, the traces endpoint is used as it is', () => {
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toMatchObject({
      enabled: true,
      exporter: 'otlp',
      url: 'http://c:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'webhook-sender',
      sampler: 'parentbased_always_on',
    });
    expect(
      tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://h/x' }).url,
    ).toBe('https://h/x');
    expect(tracing({ OTEL_TRACES_EXPORTER: 'otlp' }).url).toBe('http://localhost:4318/v1/traces');
  });

  it('reads resource attributes percent-decoded, and the sampler and its ratio', () => {
    expect(
      tracing({
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, team=a%20b',
        OTEL_TRACES_SAMPLER: 'traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }),
    ).toMatchObject({
      resourceAttributes: { 'deployment.environment': 'prod', team: 'a b' },
      sampler: 'traceidratio',
      samplerArg: 0.25,
    });
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc', /OTEL_EXPORTER_OTLP_PROTOCOL: .*grpc is not supported/],
    ['OTEL_TRACES_EXPORTER', 'jaeger', /OTEL_TRACES_EXPORTER: expected one of otlp, console, none/],
    ['OTEL_TRACES_SAMPLER', 'sometimes', /OTEL_TRACES_SAMPLER: expected one of/],
    ['OTEL_TRACES_SAMPLER_ARG', '2', /OTEL_TRACES_SAMPLER_ARG: expected a number from 0 to 1/],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', /OTEL_EXPORTER_OTLP_ENDPOINT: expected an http/],
    ['OTEL_RESOURCE_ATTRIBUTES', '=x', /OTEL_RESOURCE_ATTRIBUTES: expected key=value/],
  ])('refuses %s=%s naming it', (name, value, message) => {
    expect(() => parseConfig({ [name]: value })).toThrow(message);
  });
});

describe('the envelope: traceparent and tracestate', () => {
  it('keeps a valid context on the event', () => {
    const r = parseEnvelope({ ...base, traceparent: TP, tracestate: 'a=1,b=2' }, origin);
    expect(r.ok && r.event.trace).toEqual({ traceparent: TP, tracestate: 'a=1,b=2' });
    const plain = parseEnvelope(base, origin);
    expect(plain.ok && plain.event.trace).toBeUndefined();
  });

  it.each([
    ['not-a-traceparent', /field "traceparent" must be a W3C traceparent/],
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', /traceparent/],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', /traceparent/],
    ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', /traceparent/],
    ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', /traceparent/],
    [`${TP}-extra`, /traceparent/],
  ])('dead-letters traceparent %s as malformed', (traceparent, reason) => {
    expect(parseEnvelope({ ...base, traceparent }, origin)).toMatchObject({ ok: false, kind: 'malformed', reason });
  });

  it('accepts a later version with more fields, and refuses a bad or orphan tracestate', () => {
    expect(parseTraceparent(`01-${TP.slice(3)}-more`)).toMatchObject({ flags: 1 });
    expect(parseEnvelope({ ...base, tracestate: 'a=1' }, origin)).toMatchObject({ ok: false, reason: /needs a/ });
    expect(parseEnvelope({ ...base, traceparent: TP, tracestate: 'x'.repeat(513) }, origin)).toMatchObject({
      ok: false,
      reason: /field "tracestate": at most 512/,
    });
  });

  it('is refused by publishers before anything is written', () => {
    expect(() => eventFields({ tenant: 'acme', type: 't.x', data: {}, traceparent: 'nope' })).toThrow(/traceparent/);
    expect(eventFields({ tenant: 'acme', type: 't.x', data: {}, traceparent: TP })).toMatchObject({ traceparent: TP });
  });

  it('comes through the AMQP and NATS envelopes as text, and must be text there', () => {
    const body = JSON.stringify({ ...base, data: {}, traceparent: TP, tracestate: 'k=v' });
    expect(bodyFields(Buffer.from(body))).toMatchObject({ ok: true, fields: { traceparent: TP, tracestate: 'k=v' } });
    expect(natsFields(body, undefined, 1000).fields).toMatchObject({ traceparent: TP, tracestate: 'k=v' });
    const bad = JSON.stringify({ ...base, data: {}, traceparent: 1 });
    expect(bodyFields(Buffer.from(bad))).toMatchObject({ ok: false, reason: /"traceparent" must be a string/ });
    expect(natsFields(bad, undefined, 1000).malformed).toMatch(/"traceparent" must be a string/);
  });
});

describe('endpoints', () => {
  it('may not set traceparent or tracestate as custom headers', () => {
    expect(headerProblems({ Traceparent: 'x', tracestate: 'y' }).map((p) => p.message)).toEqual([
      'is set by webhook-sender and cannot be overridden',
      'is set by webhook-sender and cannot be overridden',
    ]);
  });

  it('take traceContext: false (absent: the header is sent)', () => {
    const file = parseTenantsFile({
      tenants: [
        {
          id: 'acme',
          endpoints: [
            { id: 'a', url: 'https://a.example/h', secret: 's'.repeat(24), traceContext: false },
            { id: 'b', url: 'https://b.example/h', secret: 's'.repeat(24) },
          ],
        },
      ],
    });
    expect(file.tenants[0]!.endpoints.map((e) => e.traceContext)).toEqual([false, undefined]);
  });

  it('show spans their URL without user info, fragment or query values', () => {
    expect(spanUrl('https://u:p@hooks.example/in/x?token=s3cret&a=1&a=2#frag')).toEqual({
      full: 'https://hooks.example/in/x?token=REDACTED&a=REDACTED&a=REDACTED',
      address: 'hooks.example',
      port: 443,
    });
    expect(spanUrl('http://10.0.0.1:8080/h')).toEqual({
      full: 'http://10.0.0.1:8080/h',
      address: '10.0.0.1',
      port: 8080,
    });
  });
});

describe('the tracer seam', () => {
  it('off: one shared no-op span, nothing to propagate or log', async () => {
    const t = await createTracer(parseConfig({}));
    expect(t).toBe(noopTracer);
    const a = t.start('x', { kind: 'internal', parent: { traceparent: TP } });
    expect(a).toBe(t.start('y', { kind: 'client' }));
    expect([a.recording, a.carrier(), a.logIds()]).toEqual([false, undefined, undefined]);
  });

  it('on: a child continues its parent’s trace; the parent-based sampler follows the sampled flag', async () => {
    // Nothing listens on port 9: the spans are dropped at shutdown.
    const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces' };
    const t = await createTracer(parseConfig({ ...env, OTEL_TRACES_SAMPLER: 'parentbased_always_off' }));
    expect(t.enabled).toBe(true);
    const child = t.start('c', { kind: 'consumer', parent: { traceparent: TP, tracestate: 'v=1' } });
    expect(child.recording).toBe(true);
    const c = child.carrier()!;
    expect(c.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(c.traceparent).not.toContain('00f067aa0ba902b7');
    expect(c.tracestate).toBe('v=1');
    expect(child.logIds()).toEqual({
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: c.traceparent.slice(36, 52),
    });
    const grandchild = t.start('g', { kind: 'client', parent: child });
    expect(grandchild.carrier()!.traceparent.slice(3, 35)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    // A root under parentbased_always_off, and a child of an unsampled parent: not recorded, ids still propagated.
    const root = t.start('r', { kind: 'producer' });
    expect(root.recording).toBe(false);
    expect(root.carrier()!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    const unsampled = t.start('u', { kind: 'consumer', parent: { traceparent: TP.replace(/01$/, '00') } });
    expect(unsampled.recording).toBe(false);
    for (const s of [child, grandchild, root, unsampled]) s.end();
    await t.shutdown(2_000);
  });
});
