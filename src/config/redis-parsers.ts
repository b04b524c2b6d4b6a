// The two settings that say where Redis is: REDIS_URL and REDIS_CLUSTER_NODES (value-parsers.ts
// has the generic parsers). Both check each URL the same way (parseRedisUrl), and an error
// message shows a seed without its password.
import { z } from 'zod';
import type { ValueParser } from './value-parsers.js';

/** A `redis://` or `rediss://` URL, or what is wrong with `text` (for REDIS_URL and each cluster seed). */
function parseRedisUrl(text: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL (expected redis://host:port or rediss://…)';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    return `expected redis:// or rediss://, got "${url.protocol}"`;
  return url;
}

/** An optional variable: undefined when unset or blank, else what `parse` makes of its trimmed text. */
function whenSet<T>(parse: (text: string, ctx: z.RefinementCtx) => T) {
  return z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => (v === undefined || v === '' ? undefined : parse(v, ctx)));
}

/** Undefined when unset: the caller applies the default and knows it was not given. */
export const redisUrl: ValueParser<string | undefined> = {
  schema: whenSet((v, ctx) => {
    const url = parseRedisUrl(v);
    if (typeof url === 'string') {
      ctx.addIssue({ code: 'custom', message: url });
      return z.NEVER;
    }
    return v;
  }),
  shown: '–',
  values: '`redis://…` or `rediss://…` URL',
};

/** REDIS_CLUSTER_NODES parsed: the seed nodes and what every node connection shares. */
export interface RedisClusterSeeds {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

/** An entry as an error message may show it: never its password. */
function redactedEntry(url: URL): string {
  return `${url.protocol}//${url.username ? `${decodeURIComponent(url.username)}@` : ''}${url.host}`;
}

/**
 * Comma-separated `redis://[user:pass@]host:port` or `rediss://…` seeds. A cluster client uses
 * one set of connection options for every node it discovers, so all seeds must agree on TLS and
 * credentials; a cluster has only database 0.
 */
export const redisClusterNodes: ValueParser<RedisClusterSeeds | undefined> = {
  schema: whenSet((v, ctx) => {
    const urls: URL[] = [];
    for (const [i, raw] of v.split(',').entries()) {
      const text = raw.trim();
      const at = `entry ${i + 1}`;
      if (text === '') {
        ctx.addIssue({ code: 'custom', message: `${at} is empty (expected redis://host:port,...)` });
        return z.NEVER;
      }
      const url = parseRedisUrl(text);
      if (typeof url === 'string') {
        ctx.addIssue({ code: 'custom', message: `${at}: ${url}` });
        return z.NEVER;
      }
      if (url.hostname === '' || url.port === '') {
        ctx.addIssue({ code: 'custom', message: `${at} (${redactedEntry(url)}) needs a host and a port` });
        return z.NEVER;
      }
      if (!['', '/', '/0'].includes(url.pathname) || url.search !== '') {
        ctx.addIssue({
          code: 'custom',
          message: `${at} (${redactedEntry(url)}): a cluster has only database 0 and takes no options in the URL`,
        });
        return z.NEVER;
      }
      urls.push(url);
    }
    const first = urls[0]!;
    const odd = urls.findIndex(
      (u) => u.protocol !== first.protocol || u.username !== first.username || u.password !== first.password,
    );
    if (odd !== -1) {
      ctx.addIssue({
        code: 'custom',
        message: `entry ${odd + 1} differs from entry 1 in scheme or credentials: every node of a cluster is reached alike`,
      });
      return z.NEVER;
    }
    const seeds: RedisClusterSeeds = {
      // IPv6 hosts come back bracketed from URL; the socket wants them bare.
      nodes: urls.map((u) => ({ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port) })),
      tls: first.protocol === 'rediss:',
      username: first.username === '' ? undefined : decodeURIComponent(first.username),
      password: first.password === '' ? undefined : decodeURIComponent(first.password),
    };
    return seeds;
  }),
  shown: '–',
  values: 'comma-separated `redis://[user:pass@]host:port` or `rediss://…` URLs',
};
