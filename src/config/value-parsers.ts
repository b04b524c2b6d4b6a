// How one environment variable's text becomes a value. Each parser also says, for the
// generated docs/configuration.md, what its default looks like and which values it accepts,
// so the table cannot drift from what start-up enforces.
import { z } from 'zod';

/** A variable's text (undefined when unset) to its value; `shown`/`values` are for the docs. */
export interface ValueParser<T> {
  schema: z.ZodType<T, string | undefined>;
  /** The default as the docs show it ("–" for none). */
  shown: string;
  /** The accepted values as the docs show them. */
  values: string;
}

const code = (v: string | number | boolean) => `\`${v}\``;

export const bool = (fallback: boolean): ValueParser<boolean> => ({
  schema: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      ctx.addIssue({ code: 'custom', message: `expected true or false, got "${v}"` });
      return z.NEVER;
    }),
  shown: code(fallback),
  values: '`true` / `false` (also `1`/`0`, `yes`/`no`, `on`/`off`)',
});

export const int = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): ValueParser<number> => ({
  schema: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    }),
  shown: code(fallback),
  values: max === Number.MAX_SAFE_INTEGER ? `integer ≥ ${min}` : `integer ${min}–${max}`,
});

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: whole milliseconds (`90000`) or a number with a unit (`500ms`, `90s`, `15m`, `2h`, `5d`); a value in ms. */
export const duration = (fallbackMs: number, minMs: number, maxMs: number): ValueParser<number> => ({
  schema: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallbackMs;
      const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(v);
      const ms = m ? Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!) : NaN;
      if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration from ${minMs} ms to ${maxMs} ms, as milliseconds or with a unit (500ms, 90s, 15m, 2h, 5d), got "${v}"`,
        });
        return z.NEVER;
      }
      return ms;
    }),
  shown: fallbackMs % 86_400_000 === 0 ? code(`${fallbackMs / 86_400_000}d`) : code(fallbackMs),
  values: 'milliseconds, or a number with a unit `ms`, `s`, `m`, `h`, `d` (e.g. `5d`, `90s`)',
});

export const str = (fallback: string): ValueParser<string> => ({
  schema: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : v)),
  shown: code(fallback),
  values: 'text',
});

export const optionalStr: ValueParser<string | undefined> = {
  schema: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : v)),
  shown: '–',
  values: 'text',
};

/** An optional string that must pass `check`; `values` says what it must be. */
export const optionalStrWhere = (
  check: (v: string) => boolean,
  message: string,
  values: string,
): ValueParser<string | undefined> => ({
  ...optionalStr,
  schema: optionalStr.schema.refine((v) => v === undefined || check(v), message),
  values,
});

/** An address to listen on: an IPv4 or IPv6 literal (no brackets) or a host name. */
export const listenAddress = (fallback: string): ValueParser<string> => ({
  ...str(fallback),
  schema: str(fallback).schema.refine(
    (v) => v.length <= 253 && /^([0-9a-fA-F:.]+|[A-Za-z0-9._-]+)$/.test(v),
    'expected an address such as 127.0.0.1, 0.0.0.0 or ::, or a host name',
  ),
  values: '`127.0.0.1`, `0.0.0.0` (every IPv4 interface), `::` (every interface), an address or a host name',
});

// BullMQ joins prefix and queue name with ':' so a key may hold one, but no spaces.
export const redisKey = (fallback: string): ValueParser<string> => ({
  ...str(fallback),
  schema: str(fallback).schema.refine((v) => v.length <= 200 && !/\s/.test(v), 'must be a key without spaces'),
  values: 'Redis key, no spaces, ≤ 200 characters',
});

export const oneOf = <const T extends readonly [string, ...string[]]>(
  options: T,
  fallback: T[number],
  message: string,
): ValueParser<T[number]> => ({
  schema: z
    .enum(options, { message })
    .optional()
    .transform((v) => v ?? fallback),
  shown: code(fallback),
  values: options.map(code).join(', '),
});

// "name[:port]" or "[v6]:port" entries, comma-separated, or "*".
export const hostList: ValueParser<readonly string[] | undefined> = {
  schema: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const entries = (v ?? '')
        .split(',')
        .map((e) => e.trim().toLowerCase())
        .filter((e) => e !== '');
      if (entries.length === 0) return undefined;
      const bad = entries.filter((e) => e !== '*' && !/^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:\d{1,5})?$/.test(e));
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `expected host or host:port entries separated by commas, got "${bad.join('", "')}"`,
        });
        return z.NEVER;
      }
      return Object.freeze(entries);
    }),
  shown: '–',
  values: 'comma-separated `host[:port]`, or `*`',
};

export interface SecretsKey {
  id: string;
  key: Buffer;
}

// "<id>:<base64 of 32 bytes>", comma-separated; the first one encrypts.
// The key material is never quoted in an error.
export const secretsKeys: ValueParser<readonly SecretsKey[] | undefined> = {
  schema: z
    .string()
    .optional()
    .transform((v, ctx): readonly SecretsKey[] | undefined => {
      const entries = (v ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '');
      if (entries.length === 0) return undefined;
      const out: SecretsKey[] = [];
      for (const [i, entry] of entries.entries()) {
        const m = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/=_-]+)$/.exec(entry);
        const key = m ? Buffer.from(m[2]!, 'base64') : undefined;
        if (!m || key?.length !== 32) {
          ctx.addIssue({
            code: 'custom',
            message: `entry ${i + 1}: expected <key id>:<base64 of 32 random bytes> (e.g. k1:$(openssl rand -base64 32))`,
          });
          return z.NEVER;
        }
        if (out.some((k) => k.id === m[1])) {
          ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: key id "${m[1]}" appears twice` });
          return z.NEVER;
        }
        out.push({ id: m[1]!, key });
      }
      return Object.freeze(out);
    }),
  shown: '–',
  values: 'comma-separated `<key id>:<base64 of 32 bytes>`',
};

/** Comma-separated integers from `min` to `max`, each once, in ascending order; undefined when unset. */
export const intList = (min: number, max: number): ValueParser<readonly number[] | undefined> => ({
  schema: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const entries = (v ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '');
      if (entries.length === 0) return undefined;
      const bad = entries.filter((e) => !/^\d+$/.test(e) || Number(e) < min || Number(e) > max);
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `expected integers from ${min} to ${max} separated by commas, got "${bad.join('", "')}"`,
        });
        return z.NEVER;
      }
      return Object.freeze([...new Set(entries.map(Number))].sort((a, b) => a - b));
    }),
  shown: '–',
  values: `comma-separated integers ${min}–${max}`,
});
