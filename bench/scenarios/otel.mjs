// pipeline-throughput-otel (issue 20): the pipeline-throughput scenario with tracing on, every
// trace sampled (OTEL_TRACES_SAMPLER=always_on) and exported over OTLP http/protobuf to a local
// sink in this process, against the same scenario with tracing off, alternating in rounds. The
// sink counts the spans it receives (walking the protobuf with the reader the exporter's own
// package ships), so a run whose spans were dropped under load cannot pass as a fast one.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { pipelineThroughput } from './pipeline.mjs';

const require = createRequire(import.meta.url);
const { ProtobufReader } = require('@opentelemetry/otlp-transformer/build/src/common/protobuf/protobuf-reader.js');

/** Spans in an ExportTraceServiceRequest: resource_spans (1) → scope_spans (2) → spans (2). */
function countSpans(buf) {
  let n = 0;
  const each = (b, field, fn) => {
    const r = new ProtobufReader(b);
    while (!r.isAtEnd()) {
      const t = r.readTag();
      if (t.fieldNumber === field && t.wireType === 2) fn(r.readBytes());
      else r.skip(t.wireType);
    }
  };
  each(buf, 1, (rs) => each(rs, 2, (ss) => each(ss, 2, () => n++)));
  return n;
}

async function startSink() {
  const seen = { spans: 0, requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.requests++;
      seen.bytes += body.length;
      seen.spans += countSpans(body);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((r) => server.close(r)) };
}

const GOAL = 0.85;
/** Spans per delivered event of one endpoint: the bridge's, the attempt's and its POST's. */
const SPANS_PER_DELIVERY = 3;

const cpuPer1k = (r) => r.data.cost.worker.cpuSecondsPer1k + r.data.cost.bridge.cpuSecondsPer1k;
const geomean = (xs) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
const fmt = (x) => Math.round(x).toLocaleString('en-US');

/**
 * Off and on alternate in rounds (off, on, off, on): on a machine shared with other work, load
 * that comes and goes then weighs on both sides alike instead of on whichever ran second.
 */
export async function pipelineThroughputOtel(ctx) {
  const rounds = ctx.quick ? 1 : 2;
  const n = ctx.quick ? 5_000 : 25_000;
  const sink = await startSink();
  const pairs = [];
  try {
    for (let i = 1; i <= rounds; i++) {
      // Each run seeds its own endpoint URL; the registry of the previous run must go (as between scenarios).
      if (i > 1) await ctx.redis.client.flushall();
      ctx.log(`round ${i}: tracing off`);
      const off = await pipelineThroughput(ctx, {
        n,
        label: `otel-off-${i}`,
        scenario: `throughput-otel-off-${i}`,
        env: {},
      });
      await ctx.redis.client.flushall();
      ctx.log(`round ${i}: tracing on`);
      const before = sink.seen.spans;
      const on = await pipelineThroughput(ctx, {
        n,
        label: `otel-on-${i}`,
        scenario: `throughput-otel-on-${i}`,
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
          OTEL_TRACES_SAMPLER: 'always_on',
        },
      });
      pairs.push({ off, on, spans: sink.seen.spans - before });
    }
  } finally {
    await sink.close();
  }
  const ratios = pairs.map((p) => p.on.data.deliveriesPerSec / p.off.data.deliveriesPerSec);
  const ratio = geomean(ratios);
  const spans = pairs.reduce((a, p) => a + p.spans, 0);
  const expected = pairs.reduce((a, p) => a + p.on.data.delivered * SPANS_PER_DELIVERY, 0);
  const cpuOn = pairs.reduce((a, p) => a + cpuPer1k(p.on), 0) / pairs.length;
  const cpuOff = pairs.reduce((a, p) => a + cpuPer1k(p.off), 0) / pairs.length;
  const timedOut = pairs.some((p) => p.on.data.timedOut || p.off.data.timedOut);
  const rows = [
    {
      metric: `tracing on (always sampled, OTLP http/protobuf to a local sink) / off, deliveries/s, ${rounds} alternating round(s) of ${fmt(n)} events (geometric mean)`,
      value: ratio,
      digits: 3,
      target: `≥ ${GOAL}`,
      pass: ratio >= GOAL && !timedOut,
    },
    ...pairs.map((p, i) => ({
      metric: `  round ${i + 1}: deliveries/s on / off`,
      value: `${fmt(p.on.data.deliveriesPerSec)} / ${fmt(p.off.data.deliveriesPerSec)}${timedOut ? ' (TIMED OUT)' : ''}`,
    })),
    {
      metric: 'CPU s per 1k deliveries, worker + bridge: on / off (mean of rounds)',
      value: `${cpuOn.toFixed(3)} / ${cpuOff.toFixed(3)} (×${(cpuOn / cpuOff).toFixed(2)})`,
    },
    {
      metric: `spans received by the sink / expected (${SPANS_PER_DELIVERY} per delivery), ${sink.seen.requests} exports, ${(sink.seen.bytes / 1e6).toFixed(1)} MB`,
      value: `${fmt(spans)} / ${fmt(expected)}`,
      pass: spans >= expected,
    },
  ];
  if (ctx.pipelinePlain)
    rows.push({
      metric: 'pipeline-throughput (off) of this run, deliveries/s',
      value: fmt(ctx.pipelinePlain.perSec),
    });
  return {
    data: {
      rounds: pairs.map((p) => ({ off: p.off.data, on: p.on.data, spans: p.spans })),
      ratio,
      cpuPer1k: { on: cpuOn, off: cpuOff },
      spans,
      expectedSpans: expected,
    },
    rows,
  };
}

/**
 * otel-span-cost: the direct CPU cost of tracing one delivery, alone: the three spans (bridge,
 * attempt, POST) with the attributes the service sets, the attempt's log child and the
 * propagated contexts, exported over http/protobuf to the local sink, in a loop in this process.
 */
export async function otelSpanCost(ctx) {
  const { parseConfig } = await import('../../dist/config.js');
  const { createTracer, spanLogger } = await import('../../dist/tracing/tracer.js');
  const { createLogger } = await import('../../dist/lib/log.js');
  const n = ctx.quick ? 5_000 : 30_000;
  const sink = await startSink();
  const tracer = await createTracer(
    parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'always_on' }),
  );
  const log = createLogger('warn');
  const producer = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const id = `e${i}`;
    const b = tracer.start('wss.bridge', {
      kind: 'consumer',
      parent: producer,
      attributes: {
        'messaging.system': 'redis-stream',
        'wss.tenant': 'bench',
        'wss.event_id': id,
        'wss.event_type': 'order.updated',
        'wss.deliveries': 1,
      },
    });
    const job = b.carrier();
    b.end();
    const a = tracer.start('wss.attempt', {
      kind: 'consumer',
      parent: job,
      attributes: { 'wss.tenant': 'bench', 'wss.endpoint': 'ep1', 'wss.event_id': id, 'wss.attempt': 1 },
    });
    spanLogger(log, a);
    const h = tracer.start('POST', {
      kind: 'client',
      parent: a,
      attributes: {
        'http.request.method': 'POST',
        'server.address': '127.0.0.1',
        'server.port': 8080,
        'url.full': 'http://127.0.0.1:8080/hook',
      },
    });
    h.carrier();
    h.set({ 'http.response.status_code': 200 });
    h.end();
    a.set({ 'wss.outcome': 'delivered' });
    a.end();
    // Let the exports keep up (a loop outruns any exporter; dropped spans would cost nothing here).
    while ((i + 1) * SPANS_PER_DELIVERY - sink.seen.spans > 8_192) await new Promise((r) => setTimeout(r, 2));
  }
  await tracer.shutdown(30_000);
  const cpu = process.cpuUsage(cpu0);
  await sink.close();
  const us = (cpu.user + cpu.system) / n;
  return {
    data: { deliveries: n, cpuMicrosPerDelivery: us, spans: sink.seen.spans },
    rows: [
      {
        metric: `CPU µs per traced delivery (3 spans, exported; ${fmt(n)} in a loop, sink included)`,
        value: Math.round(us),
      },
      {
        metric: 'spans received / expected',
        value: `${fmt(sink.seen.spans)} / ${fmt(n * SPANS_PER_DELIVERY)}`,
        pass: sink.seen.spans >= n * SPANS_PER_DELIVERY,
      },
    ],
  };
}
