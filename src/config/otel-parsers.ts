// Parsers of the standard OpenTelemetry variables (OTEL_*), kept to the forms the specification
// gives them (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/)
// so an operator's existing collector settings work unchanged. Only what the service supports is
// accepted: a value it would silently ignore (the `grpc` protocol, an unknown sampler) stops
// start-up with the variable named instead.
import { z } from 'zod';
import type { ValueParser } from './value-parsers.js';

export const OTEL_EXPORTERS = ['otlp', 'console', 'none'] as const;
export const OTEL_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export const OTEL_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** An optional absolute http(s) URL (an OTLP endpoint). */
export const otlpUrl: ValueParser<string | undefined> = {
  schema: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      try {
        const u = new URL(v);
        if (u.protocol === 'http:' || u.protocol === 'https:') return v;
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'expected an http:// or https:// URL, e.g. http://localhost:4318' });
      return z.NEVER;
    }),
  shown: '–',
  values: 'an `http://` or `https://` URL',
};

/** OTEL_TRACES_EXPORTER: one exporter name (a list is refused: the service exports to one place). */
export const otelExporter: ValueParser<(typeof OTEL_EXPORTERS)[number] | undefined> = {
  schema: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      if ((OTEL_EXPORTERS as readonly string[]).includes(v)) return v as (typeof OTEL_EXPORTERS)[number];
      ctx.addIssue({ code: 'custom', message: `expected one of ${OTEL_EXPORTERS.join(', ')} (one exporter)` });
      return z.NEVER;
    }),
  shown: '– (off; `otlp` when an endpoint is set)',
  values: OTEL_EXPORTERS.map((e) => `\`${e}\``).join(', '),
};

/** OTEL_EXPORTER_OTLP_PROTOCOL. `grpc` is refused by name: the gRPC exporter is not shipped. */
export const otelProtocol: ValueParser<(typeof OTEL_PROTOCOLS)[number]> = {
  schema: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return 'http/protobuf' as const;
      if ((OTEL_PROTOCOLS as readonly string[]).includes(v)) return v as (typeof OTEL_PROTOCOLS)[number];
      ctx.addIssue({
        code: 'custom',
        message: `expected http/protobuf or http/json${v === 'grpc' ? ' (grpc is not supported: point it at the collector’s HTTP port, 4318)' : ''}`,
      });
      return z.NEVER;
    }),
  shown: '`http/protobuf`',
  values: OTEL_PROTOCOLS.map((e) => `\`${e}\``).join(', '),
};

/** OTEL_RESOURCE_ATTRIBUTES: `key=value,key2=value2`, values percent-decoded (W3C Baggage octets). */
export const resourceAttributes: ValueParser<Readonly<Record<string, string>>> = {
  schema: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const out: Record<string, string> = {};
      if (v === undefined || v.trim() === '') return out;
      for (const part of v.split(',')) {
        const eq = part.indexOf('=');
        const key = eq > 0 ? part.slice(0, eq).trim() : '';
        if (key === '') {
          ctx.addIssue({ code: 'custom', message: 'expected key=value pairs separated by commas' });
          return z.NEVER;
        }
        try {
          out[key] = decodeURIComponent(part.slice(eq + 1).trim());
        } catch {
          ctx.addIssue({ code: 'custom', message: `the value of "${key}" is not valid percent-encoding` });
          return z.NEVER;
        }
      }
      return out;
    }),
  shown: '–',
  values: '`key=value,key2=value2` (values percent-encoded)',
};

/** OTEL_TRACES_SAMPLER_ARG: the ratio of the *traceidratio samplers, 0 to 1. */
export const samplerRatio: ValueParser<number> = {
  schema: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return 1;
      const n = Number(v);
      if (Number.isFinite(n) && n >= 0 && n <= 1) return n;
      ctx.addIssue({ code: 'custom', message: `expected a number from 0 to 1, got "${v}"` });
      return z.NEVER;
    }),
  shown: '`1`',
  values: 'a number from 0 to 1',
};
