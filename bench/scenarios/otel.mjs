// pipeline-throughput-otel (issue 20): the pipeline-throughput scenario with tracing on, every
// trace sampled (OTEL_TRACES_SAMPLER=always_on) and exported over OTLP http/protobuf to a local
// sink in this process, compared with pipeline-throughput (tracing off) of the same run. The
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

export async function pipelineThroughputOtel(ctx) {
  const sink = await startSink();
  let r;
  try {
    r = await pipelineThroughput(ctx, {
      label: 'otel',
      scenario: 'throughput-otel',
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_TRACES_SAMPLER: 'always_on',
      },
    });
  } finally {
    await sink.close();
  }
  const base = ctx.pipelinePlain;
  const perSec = r.data.deliveriesPerSec;
  const expected = r.data.delivered * SPANS_PER_DELIVERY;
  const rows = [
    base
      ? {
          metric: `tracing on (always sampled, OTLP to a local sink) vs off, deliveries/s (same run, off: ${Math.round(base.perSec).toLocaleString('en-US')}/s)`,
          value: perSec / base.perSec,
          digits: 3,
          target: `≥ ${GOAL}`,
          pass: perSec / base.perSec >= GOAL,
        }
      : { metric: 'tracing on vs off', value: 'n/a (run pipeline-throughput in the same run)' },
    {
      metric: `spans received by the sink / expected (${SPANS_PER_DELIVERY} per delivery), in ${sink.seen.requests} exports of ${(sink.seen.bytes / 1e6).toFixed(1)} MB`,
      value: `${sink.seen.spans.toLocaleString('en-US')} / ${expected.toLocaleString('en-US')}`,
      pass: sink.seen.spans >= expected,
    },
    ...r.rows.filter((row) => !String(row.metric).startsWith('ratio to min')),
  ];
  return {
    data: { ...r.data, spans: sink.seen, expectedSpans: expected, vsOff: base ? perSec / base.perSec : undefined },
    rows,
  };
}
