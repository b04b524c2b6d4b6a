// POST /api/events with tracing on: the admin API publishes inside a PRODUCER span whose parent
// is the caller's traceparent, and the stream entry carries that span's context for the bridge.
// The spans go to a real OTLP receiver (http/json) through the SDK, flushed by shutdown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { createTracer } from '../src/tracing/tracer.js';
import type { Tracer } from '../src/tracing/types.js';
import { basic, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp-receiver.js';
import { useTestRedis } from './helpers/redis-server.js';

const PASSWORD = 'tracing-api-test-password';
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER = 'b7ad6b7169203331';
const { redis } = useTestRedis();
let t: TestContext;
let dash: RunningDashboard;
let otlp: OtlpReceiver;
let tracer: Tracer;

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  t = await startTestContext({ WSS_DASHBOARD_PASSWORD: PASSWORD }, redis());
  tracer = await createTracer(
    parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
  );
  dash = await startDashboard({ ...t.ctx, tracer });
});
afterAll(async () => {
  await dash?.stop();
  await t?.close();
  await otlp?.close();
});

const post = (body: unknown) =>
  fetch(`${dash.url}/api/events?check=false`, {
    method: 'POST',
    headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('POST /api/events with tracing on', () => {
  it('publishes inside a PRODUCER span under the caller’s traceparent', async () => {
    const res = await post({
      tenant: 'acme',
      type: 'order.created',
      data: {},
      id: 'evt-traced',
      traceparent: `00-${TRACE}-${CALLER}-01`,
      tracestate: 'congo=t61rcWkgMzE',
    });
    expect(res.status).toBe(202);
    const { entryId } = (await res.json()) as { entryId: string };
    await tracer.shutdown(5_000);
    const [span] = (await otlp.waitFor((s) => s.some((x) => x.traceId === TRACE))).filter((s) => s.traceId === TRACE);
    expect(span).toMatchObject({ name: 'wss.publish', kind: 4, parentSpanId: CALLER });
    expect(span!.attributes).toMatchObject({
      'messaging.system': 'redis-stream',
      'messaging.message.id': entryId,
      'wss.tenant': 'acme',
      'wss.event_id': 'evt-traced',
    });
    // The entry names the publish span as the bridge's parent, and keeps the caller's tracestate.
    const entries = (await t.ctx.redis.xrange(t.ctx.config.stream, entryId, entryId)) as Array<[string, string[]]>;
    const fields = entries[0]![1];
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
    expect(f['traceparent']).toBe(`00-${TRACE}-${span!.spanId}-01`);
    expect(f['tracestate']).toBe('congo=t61rcWkgMzE');
  });

  it('refuses a traceparent that is not one, with 400 naming the field', async () => {
    const res = await post({ tenant: 'acme', type: 'a', data: {}, traceparent: 'nope' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('field "traceparent"');
    const bad = await post({ tenant: 'acme', type: 'a', data: {}, traceparent: 1 });
    expect(bad.status).toBe(400);
  });
});
