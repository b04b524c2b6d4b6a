// The NATS settings' values (WSS_SOURCE=nats): the server URL(s), JetStream names and subjects.
// Pure. The NATS client takes no credentials from a URL, so they are taken out here and kept
// apart; every text shown (errors, logs, readiness) comes from `shown`, which never holds a
// password or a token.
import { z } from 'zod';
import type { ValueParser } from './value-parsers.js';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** WSS_NATS_URL parsed: where to connect and as whom. */
export interface NatsTarget {
  /** `host:port` of each server (the client tries them in turn and learns the cluster's others). */
  readonly servers: readonly string[];
  /** `tls://`: the connection must use TLS. */
  readonly tls: boolean;
  readonly user: string | undefined;
  readonly pass: string | undefined;
  /** A URL with a user name and no password carries a token (as the nats CLI reads it). */
  readonly token: string | undefined;
  /** The URL(s) as logs and errors show them: the password or token replaced by `***`. */
  readonly shown: string;
}

/** One URL of the list, or what is wrong with it (never quoting a password). */
function parseOne(
  text: string,
): { server: string; tls: boolean; user?: string; secret?: string; shown: string } | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL (expected nats://host:port or tls://host:port)';
  }
  if (url.protocol !== 'nats:' && url.protocol !== 'tls:') return `expected nats:// or tls://, got "${url.protocol}"`;
  if (url.hostname === '') return `${url.protocol}// needs a host`;
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '')
    return `${url.protocol}//${url.host}: no path or options after the host`;
  const server = `${url.hostname}:${url.port || '4222'}`;
  const user = url.username ? decodeURIComponent(url.username) : undefined;
  const secret = url.password ? decodeURIComponent(url.password) : undefined;
  const who = user === undefined ? '' : secret === undefined ? '***@' : `${encodeURIComponent(user)}:***@`;
  return { server, tls: url.protocol === 'tls:', user, secret, shown: `${url.protocol}//${who}${server}` };
}

/** The target of a comma-separated list of URLs, or what is wrong (one line per problem). */
export function parseNatsUrl(text: string): NatsTarget | string[] {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) return ['no URL given'];
  const problems: string[] = [];
  const ok: Array<Exclude<ReturnType<typeof parseOne>, string>> = [];
  parts.forEach((p, i) => {
    const r = parseOne(p);
    if (typeof r === 'string') problems.push(parts.length > 1 ? `URL ${i + 1}: ${r}` : r);
    else ok.push(r);
  });
  if (problems.length > 0) return problems;
  const creds = new Set(ok.filter((o) => o.user !== undefined).map((o) => `${o.user}\n${o.secret ?? ''}`));
  if (creds.size > 1) return ['the URLs carry different credentials; give them once (one connection, one identity)'];
  if (new Set(ok.map((o) => o.tls)).size > 1) return ['mixes nats:// and tls:// URLs; use one scheme for all'];
  const withCreds = ok.find((o) => o.user !== undefined);
  const tokenOnly = withCreds !== undefined && withCreds.secret === undefined;
  return {
    servers: ok.map((o) => o.server),
    tls: ok[0]!.tls,
    user: tokenOnly ? undefined : withCreds?.user,
    pass: tokenOnly ? undefined : withCreds?.secret,
    token: tokenOnly ? withCreds.user : undefined,
    shown: ok.map((o) => o.shown).join(','),
  };
}

export const natsUrl: ValueParser<NatsTarget> = {
  schema: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const r = parseNatsUrl(v === undefined || v.trim() === '' ? DEFAULT_NATS_URL : v);
      if (!Array.isArray(r)) return r;
      for (const message of r) ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }),
  shown: `\`${DEFAULT_NATS_URL}\``,
  values:
    '`nats://[user:password@]host[:port]` or `tls://…` (`nats://token@host` for a token), comma-separated for several servers',
};

// JetStream refuses these in stream and consumer names (they are subject tokens).
const NAME = /^[^\s.*>/\\]{1,200}$/;

/** A stream or consumer name. */
export const natsName = (fallback: string): ValueParser<string> => ({
  schema: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : v))
    .refine((v) => NAME.test(v), 'must be 1-200 characters without spaces, ".", "*", ">", "/" or "\\"'),
  shown: `\`${fallback}\``,
  values: 'a JetStream name: no spaces, `.`, `*`, `>`, `/`, `\\`',
});

/** What is wrong with one subject (filter), or undefined: tokens split by `.`, `*` a whole token, `>` only last. */
export function subjectProblem(s: string): string | undefined {
  if (/\s/.test(s)) return `"${s}" has a space`;
  const tokens = s.split('.');
  for (const [i, t] of tokens.entries()) {
    if (t === '') return `"${s}" has an empty token`;
    if (t.includes('>') && (t !== '>' || i !== tokens.length - 1)) return `"${s}": ">" may only be the last token`;
    if (t.includes('*') && t !== '*') return `"${s}": "*" must be a whole token`;
  }
  return undefined;
}

export const natsSubjects = (fallback: string): ValueParser<readonly string[]> => ({
  schema: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const list = (v === undefined || v.trim() === '' ? fallback : v)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (list.length === 0) ctx.addIssue({ code: 'custom', message: 'no subject given' });
      for (const s of list) {
        const p = subjectProblem(s);
        if (p) ctx.addIssue({ code: 'custom', message: p });
      }
      return Object.freeze(list);
    }),
  shown: `\`${fallback}\``,
  values: 'NATS subjects (wildcards `*`, `>`), comma-separated',
});

/**
 * Where `wss publish` and the other publishers send a tenant's event: the first subject with
 * each `*` and the final `>` replaced by the tenant id (a single token: tenant ids have no `.`),
 * so it always matches the stream and the consumer's filter.
 */
export function publishSubject(subjects: readonly string[], tenant: string): string {
  return subjects[0]!
    .split('.')
    .map((t) => (t === '*' || t === '>' ? tenant : t))
    .join('.');
}
