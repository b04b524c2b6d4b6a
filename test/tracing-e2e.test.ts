// Traces from producer to receiver with the real CLI: `wss publish` with a producer's
// traceparent, then `wss start` (bridge and worker) exporting to a real OTLP receiver in this
// test (otlp-receiver.ts decodes what arrives), over http/protobuf and http/json. One trace:
// publish (PRODUCER) → bridge (CONSUMER) → an attempt per try (CONSUMER) → its POST (CLIENT), and
// the webhook carries the POST span's context. The endpoint setting traceContext: false keeps
// the header off. Tracing off: no OpenTelemetry SDK module is loaded and no header is sent.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestRedis } from './helpers/redis-server.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startOtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.js';
import { serviceEnv, spawnWss, type WssProcess } from './helpers/wss-process.js';

const SECRET = 'tracing-secret-0123456789';
const MODULE_LOG = fileURLToPath(new URL('./fixtures/module-log.mjs', import.meta.url));
const { redis } = useTestRedis();
let receiver: Receiver;
const dir = mkdtempSync(join(tmpdir(), 'wss-trace-'));

beforeAll(async () => {
  receiver = await startReceiver((req) => {
    // Each traced endpoint fails its first request, so a retry adds an attempt.
    const first = req.path.startsWith('/traced') && receiver.requests.filter((r) => r.path === req.path).length === 1;
    return { status: first ? 500 : 200 };
  });
});
afterAll(async () => {
  await receiver.close();
});

function setup(name: string, extra: Record<string, string>) {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      tenants: [
        {
          id: 'acme',
          endpoints: [
            {
              id: 'traced',
              url: `${receiver.url}/traced-${name}?token=query-secret`,
              secret: SECRET,
              retry: { attempts: 3, backoffMs: 100 },
            },
            { id: 'quiet', url: `${receiver.url}/quiet-${name}`, secret: SECRET, traceContext: false },
          ],
        },
      ],
    }),
  );
  const modules = join(dir, `${name}-modules.txt`);
  writeFileSync(modules, '');
  const env = serviceEnv(redis().url, `trace-${name}`, {
    TENANTS_FILE: file,
    WSS_HEALTH_PORT: '0',
    WSS_TEST_MODULE_LOG: modules,
    NODE_OPTIONS: `--import ${MODULE_LOG}`,
    ...extra,
  });
  return { env, modules: () => readFileSync(modules, 'utf8') };
}

async function exited(p: WssProcess): Promise<number | null> {
  const deadline = Date.now() + 30_000;
  while (p.proc.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return p.proc.exitCode;
}

/** The OpenTelemetry packages a process loaded (from module-log.mjs's list). */
const otelPackages = (list: string) =>
  [...new Set([...list.matchAll(/node_modules\/@opentelemetry\/([^/]+)\//g)].map((m) => m[1]!))].sort();

const requestsTo = (path: string) => receiver.requests.filter((r) => r.path.startsWith(path));

async function waitForRequests(path: string, n: number) {
  const deadline = Date.now() + 30_000;
  while (requestsTo(path).length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return requestsTo(path);
}

describe.each(['http/protobuf', 'http/json'] as const)('traces exported over %s', (protocol) => {
  it(
    'one trace from the producer to the receiver: publish, bridge, each attempt and its request',
    { timeout: 90_000 },
    async () => {
      const name = protocol === 'http/json' ? 'json' : 'proto';
      const otlp = await startOtlpReceiver();
      const traceId = randomBytes(16).toString('hex');
      const producerSpan = randomBytes(8).toString('hex');
      const { env, modules } = setup(name, {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_SERVICE_NAME: 'wss-test',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=hooks%20team',
      });
      const svc = spawnWss(['start', '--role', 'bridge', '--role', 'worker'], env);
      try {
        await svc.waitForOutput(/webhook-sender started/, 30_000);
        const pub = spawnWss(
          [
            'publish',
            ...['--tenant', 'acme', '--type', 'order.paid', '--data', '{"n":1}', '--id', `ev-${name}`],
            ...['--traceparent', `00-${traceId}-${producerSpan}-01`, '--tracestate', 'vendor=abc'],
          ],
          { ...env, NODE_OPTIONS: '' },
        );
        expect(await exited(pub)).toBe(0);
        expect(await waitForRequests(`/traced-${name}`, 2)).toHaveLength(2);
        expect(await waitForRequests(`/quiet-${name}`, 1)).toHaveLength(1);
      } finally {
        // Shutdown flushes the pending spans (the batch processor would wait up to a second).
        expect(await svc.kill('SIGTERM')).toBe(0);
      }
      const spans = (await otlp.waitFor((s) => s.filter((x) => x.traceId === traceId).length >= 8)).filter(
        (s) => s.traceId === traceId,
      );
      await otlp.close();
      const named = (n: string) => spans.filter((s) => s.name === n);

      // The producer's span is the root's parent; tracestate travels along.
      const [publish, ...morePublish] = named('wss.publish');
      expect(morePublish).toEqual([]);
      expect(publish).toMatchObject({ kind: 4, parentSpanId: producerSpan });
      expect(publish!.attributes).toMatchObject({ 'wss.tenant': 'acme', 'wss.event_type': 'order.paid' });
      const [bridge, ...moreBridge] = named('wss.bridge');
      expect(moreBridge).toEqual([]);
      expect(bridge).toMatchObject({ kind: 5, parentSpanId: publish!.spanId });
      expect(bridge!.attributes).toMatchObject({ 'wss.event_id': `ev-${name}`, 'wss.deliveries': 2 });

      // Three attempts under the bridge span: the traced endpoint's failure and its retry, the quiet one's.
      const attempts = named('wss.attempt');
      expect(attempts).toHaveLength(3);
      for (const a of attempts) expect(a).toMatchObject({ kind: 5, parentSpanId: bridge!.spanId });
      const traced = attempts
        .filter((a) => a.attributes['wss.endpoint'] === 'traced')
        .sort((a, b) => Number(a.attributes['wss.attempt']) - Number(b.attributes['wss.attempt']));
      expect(traced.map((a) => [a.attributes['wss.attempt'], a.attributes['wss.outcome']])).toEqual([
        [1, 'retry'],
        [2, 'delivered'],
      ]);
      expect(traced[0]!.status.code).toBe(2);
      expect(traced[0]!.attributes).toMatchObject({
        'error.type': 'HTTP_STATUS',
        'wss.tenant': 'acme',
        'wss.event_id': `ev-${name}`,
      });
      expect(traced[1]!.status.code).not.toBe(2);

      // Each attempt has one HTTP CLIENT span; the URL shows no query value.
      const httpOf = (a: ReceivedSpan) => {
        const h = spans.filter((s) => s.parentSpanId === a.spanId);
        expect(h).toHaveLength(1);
        return h[0]!;
      };
      const [failedHttp, okHttp] = traced.map(httpOf);
      expect(failedHttp).toMatchObject({ name: 'POST', kind: 3 });
      expect(failedHttp!.attributes).toMatchObject({
        'http.request.method': 'POST',
        'server.address': '127.0.0.1',
        'server.port': receiver.port,
        'url.full': `${receiver.url}/traced-${name}?token=REDACTED`,
        'http.response.status_code': 500,
        'error.type': '500',
      });
      expect(okHttp!.attributes).toMatchObject({ 'http.response.status_code': 200 });
      expect(okHttp!.attributes['error.type']).toBeUndefined();
      expect(JSON.stringify(spans)).not.toContain('query-secret');

      // The receiver's requests carry the traceparent of their own HTTP span.
      const got = requestsTo(`/traced-${name}`).sort(
        (a, b) => Number(a.headers['x-wss-attempt']) - Number(b.headers['x-wss-attempt']),
      );
      expect(got.map((r) => r.headers['traceparent'])).toEqual([
        `00-${traceId}-${failedHttp!.spanId}-01`,
        `00-${traceId}-${okHttp!.spanId}-01`,
      ]);
      expect(got[0]!.headers['tracestate']).toBe('vendor=abc');
      // traceContext: false: the request is traced, the receiver sees no header.
      const quietAttempt = attempts.find((a) => a.attributes['wss.endpoint'] === 'quiet')!;
      expect(httpOf(quietAttempt).attributes['http.response.status_code']).toBe(200);
      const [quiet] = requestsTo(`/quiet-${name}`);
      expect(quiet!.headers['traceparent']).toBeUndefined();
      expect(quiet!.headers['tracestate']).toBeUndefined();

      // Resource, and the protocol asked for.
      expect(spans[0]!.resource).toMatchObject({
        'service.name': 'wss-test',
        'deployment.environment': 'test',
        team: 'hooks team',
      });
      expect([...otlp.contentTypes].every((t) => t.includes(protocol === 'http/json' ? 'json' : 'protobuf'))).toBe(
        true,
      );

      // Log lines written inside an attempt carry its ids.
      const lines = svc
        .output()
        .split('\n')
        .filter((l) => l.includes('"delivery attempt"'))
        .map((l) => JSON.parse(l) as { eventId: string; trace_id?: string; span_id?: string });
      const mine = lines.filter((l) => l.eventId === `ev-${name}`);
      expect(mine).toHaveLength(3);
      expect(mine.map((l) => l.trace_id)).toEqual([traceId, traceId, traceId]);
      expect(new Set(mine.map((l) => l.span_id))).toEqual(new Set(attempts.map((a) => a.spanId)));

      // The positive control of the module check below: with tracing on, the SDK was loaded.
      expect(otelPackages(modules())).toEqual(expect.arrayContaining(['sdk-trace', 'resources']));
    },
  );
});

describe('tracing off (no OTEL_* variable)', () => {
  it('loads no OpenTelemetry SDK module and sends no traceparent', { timeout: 60_000 }, async () => {
    const { env, modules } = setup('off', {});
    const svc = spawnWss(['start', '--role', 'bridge', '--role', 'worker'], env);
    try {
      await svc.waitForOutput(/webhook-sender started/, 30_000);
      const pub = spawnWss(['publish', '--tenant', 'acme', '--type', 'order.paid', '--data', '{}', '--id', 'ev-off'], {
        ...env,
        NODE_OPTIONS: '',
      });
      expect(await exited(pub)).toBe(0);
      const [req] = await waitForRequests('/quiet-off', 1);
      expect(req!.headers['traceparent']).toBeUndefined();
      const traced = await waitForRequests('/traced-off', 2);
      for (const r of traced) expect(r.headers['traceparent']).toBeUndefined();
    } finally {
      expect(await svc.kill('SIGTERM')).toBe(0);
    }
    const list = modules();
    // The list is real: it names modules the service did load (its own, bullmq, prom-client).
    expect(list).toMatch(/dist\/workers\/worker\.js/);
    expect(list).toMatch(/node_modules\/prom-client\//);
    // prom-client requires @opentelemetry/api (the API alone, for exemplars): that one only.
    expect(otelPackages(list)).toEqual(['api']);
    expect(list).not.toMatch(/dist\/tracing\/sdk\.js/);
  });
});
