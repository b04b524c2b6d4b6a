// A real OTLP/HTTP trace receiver for tests: an HTTP server on 127.0.0.1 (port 0) that takes
// what the service's exporter POSTs to /v1/traces and decodes it, http/json with JSON.parse and
// http/protobuf with the protobuf reader of @opentelemetry/otlp-transformer (the package the
// exporter itself encodes with), walked along the field numbers of OTLP's trace.proto. Nothing of
// the SDK is mocked: the spans are what a collector would receive.
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Record<string, string | number | boolean>;
  /** The Content-Type the batch came with. */
  contentType: string;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  contentTypes: Set<string>;
  /** Waits until `pred` holds over the spans received. */
  waitFor(pred: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

// The reader is internal to the package (no export of its own): required by path.
const require = createRequire(import.meta.url);
const { ProtobufReader } = require('@opentelemetry/otlp-transformer/build/src/common/protobuf/protobuf-reader.js') as {
  ProtobufReader: new (buf: Uint8Array) => {
    isAtEnd(): boolean;
    readTag(): { fieldNumber: number; wireType: number };
    readVarint(): number;
    readBytes(): Uint8Array;
    readString(): string;
    skip(wireType: number): void;
  };
};
type Reader = InstanceType<typeof ProtobufReader>;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Calls `on(field, wireType, reader)` for each field of the message in `buf`. */
function fields(buf: Uint8Array, on: (field: number, wire: number, r: Reader) => boolean | void): void {
  const r = new ProtobufReader(buf);
  while (!r.isAtEnd()) {
    const { fieldNumber, wireType } = r.readTag();
    if (on(fieldNumber, wireType, r) !== true) continue;
    r.skip(wireType);
  }
}

// AnyValue: 1 string_value, 2 bool_value, 3 int_value, 4 double_value.
function anyValue(buf: Uint8Array): string | number | boolean {
  let v: string | number | boolean = '';
  fields(buf, (f, w, r) => {
    if (f === 1) v = r.readString();
    else if (f === 2) v = r.readVarint() !== 0;
    else if (f === 3) v = r.readVarint();
    else return true;
  });
  return v;
}

// KeyValue: 1 key, 2 value.
function keyValue(buf: Uint8Array, into: Record<string, string | number | boolean>): void {
  let key = '';
  let value: string | number | boolean = '';
  fields(buf, (f, _w, r) => {
    if (f === 1) key = r.readString();
    else if (f === 2) value = anyValue(r.readBytes());
    else return true;
  });
  into[key] = value;
}

// Span: 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind, 9 attributes, 15 status (2 message, 3 code).
function span(buf: Uint8Array, resource: ReceivedSpan['resource'], contentType: string): ReceivedSpan {
  const s: ReceivedSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 0,
    attributes: {},
    status: { code: 0, message: '' },
    resource,
    contentType,
  };
  fields(buf, (f, _w, r) => {
    if (f === 1) s.traceId = hex(r.readBytes());
    else if (f === 2) s.spanId = hex(r.readBytes());
    else if (f === 4) s.parentSpanId = hex(r.readBytes());
    else if (f === 5) s.name = r.readString();
    else if (f === 6) s.kind = r.readVarint();
    else if (f === 9) keyValue(r.readBytes(), s.attributes);
    else if (f === 15)
      fields(r.readBytes(), (g, _w2, r2) => {
        if (g === 2) s.status.message = r2.readString();
        else if (g === 3) s.status.code = r2.readVarint();
        else return true;
      });
    else return true;
  });
  return s;
}

/** ExportTraceServiceRequest: 1 resource_spans (1 resource (1 attributes), 2 scope_spans (2 spans)). */
export function decodeProtobuf(buf: Uint8Array, contentType = 'application/x-protobuf'): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  fields(buf, (f, _w, r) => {
    if (f !== 1) return true;
    const resource: ReceivedSpan['resource'] = {};
    const scopes: Uint8Array[] = [];
    fields(r.readBytes(), (g, _w2, r2) => {
      if (g === 1)
        fields(r2.readBytes(), (h, _w3, r3) => {
          if (h === 1) keyValue(r3.readBytes(), resource);
          else return true;
        });
      else if (g === 2) scopes.push(r2.readBytes());
      else return true;
    });
    for (const sc of scopes)
      fields(sc, (g, _w2, r2) => {
        if (g === 2) out.push(span(r2.readBytes(), resource, contentType));
        else return true;
      });
  });
  return out;
}

interface JsonValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
}
type JsonAttrs = Array<{ key: string; value: JsonValue }> | undefined;

const jsonAttrs = (a: JsonAttrs) =>
  Object.fromEntries(
    (a ?? []).map(({ key, value: v }) => [
      key,
      v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? '')),
    ]),
  );

/** OTLP/JSON: ids as hex strings, enums as numbers. */
export function decodeJson(text: string, contentType = 'application/json'): ReceivedSpan[] {
  const body = JSON.parse(text) as {
    resourceSpans?: Array<{
      resource?: { attributes?: JsonAttrs };
      scopeSpans?: Array<{
        spans?: Array<{
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind?: number;
          attributes?: JsonAttrs;
          status?: { code?: number; message?: string };
        }>;
      }>;
    }>;
  };
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const resource = jsonAttrs(rs.resource?.attributes);
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        kind: s.kind ?? 0,
        attributes: jsonAttrs(s.attributes),
        status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
        resource,
        contentType,
      })),
    );
  });
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const type = String(req.headers['content-type'] ?? '');
      contentTypes.add(type);
      try {
        if (req.url !== '/v1/traces') throw new Error(`unexpected path ${req.url}`);
        spans.push(...(type.includes('json') ? decodeJson(body.toString('utf8'), type) : decodeProtobuf(body, type)));
        res.writeHead(200, { 'content-type': type.includes('json') ? 'application/json' : 'application/x-protobuf' });
        res.end(type.includes('json') ? '{}' : '');
      } catch (err) {
        res.writeHead(400);
        res.end(String(err));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    async waitFor(pred, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(spans)) {
        if (Date.now() > deadline)
          throw new Error(`spans not as expected within ${timeoutMs} ms: ${spans.map((s) => s.name).join(', ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return spans;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
