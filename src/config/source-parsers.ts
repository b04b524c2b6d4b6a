// The settings of the event sources other than the Redis Stream (WSS_SOURCE): broker and
// database URLs, which may hold a password, so no message ever quotes them, and names the
// broker restricts. value-parsers.ts has the generic parsers.
import { z } from 'zod';
import { str, type ValueParser } from './value-parsers.js';

const code = (v: string) => `\`${v}\``;

/**
 * An `amqp://` or `amqps://` URL (WSS_AMQP_URL). Messages never quote it: it may hold a
 * password. The vhost is the path (`/` for the default one, `%2F` in the URL's terms).
 */
export const amqpUrl = (fallback: string): ValueParser<string> => ({
  schema: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: 'not a URL (expected amqp://user:password@host:port/vhost or amqps://…)',
        });
        return z.NEVER;
      }
      if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
        ctx.addIssue({ code: 'custom', message: `expected amqp:// or amqps://, got "${url.protocol}"` });
        return z.NEVER;
      }
      if (url.hostname === '') {
        ctx.addIssue({ code: 'custom', message: 'the URL needs a host (amqp://host:port/vhost)' });
        return z.NEVER;
      }
      return v;
    }),
  shown: code(fallback),
  values: '`amqp://…` or `amqps://…` URL',
});

/** An AMQP queue name: 1-255 bytes; `amq.` names are the broker's own. */
export const amqpQueue = (fallback: string): ValueParser<string> => ({
  ...str(fallback),
  schema: str(fallback).schema.refine(
    (v) => Buffer.byteLength(v) <= 255 && !v.startsWith('amq.'),
    'must be a queue name of at most 255 bytes, not starting with "amq." (reserved by the broker)',
  ),
  values: 'queue name, ≤ 255 bytes, not `amq.*`',
});
