// The PostgreSQL outbox's two values that need more than a string: the database URL (whose
// password no error may quote) and the table name (which is put into SQL, so it must be a plain
// identifier). Kept apart from value-parsers.ts so each source's parsers live with their kind.
import { z } from 'zod';
import type { ValueParser } from './value-parsers.js';

/** WSS_OUTBOX_TABLE parsed: `[schema.]name`, both plain lower-case identifiers. */
export interface OutboxTableName {
  readonly schema: string | undefined;
  readonly name: string;
  /** As written: `wss_outbox` or `app.wss_outbox`. */
  readonly text: string;
}

/**
 * The longest table name: the index, function and trigger names are built from it with a
 * suffix (`_unpublished`, `_tenant_created`, `_notify`), and PostgreSQL cuts names at 63 bytes.
 */
export const OUTBOX_TABLE_MAX = 48;
const IDENT = /^[a-z_][a-z0-9_]*$/;

/** The table name, or what is wrong with it. Pure. */
export function parseOutboxTable(text: string): OutboxTableName | string {
  const parts = text.split('.');
  if (parts.length > 2) return 'at most one dot (schema.table)';
  const name = parts.at(-1)!;
  const schema = parts.length === 2 ? parts[0] : undefined;
  for (const [what, part, max] of [
    ['schema', schema, 63],
    ['table', name, OUTBOX_TABLE_MAX],
  ] as const) {
    if (part === undefined) continue;
    // Lower case only: the name is quoted in SQL, and an application writing it unquoted gets
    // the same table only when it has no capitals.
    if (!IDENT.test(part))
      return `the ${what} name must be a lower-case SQL identifier (a-z, 0-9, _; not starting with a digit)`;
    if (part.length > max) return `the ${what} name has more than ${max} characters`;
  }
  return { schema, name, text };
}

export const outboxTable = (fallback: string): ValueParser<OutboxTableName> => ({
  schema: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      const parsed = parseOutboxTable(v === undefined || v === '' ? fallback : v);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: `${parsed}, got "${v}"` });
        return z.NEVER;
      }
      return Object.freeze(parsed);
    }),
  shown: `\`${fallback}\``,
  values: `\`table\` or \`schema.table\`: lower-case SQL identifiers, the table name at most ${OUTBOX_TABLE_MAX} characters`,
});

/** The URL as logs and errors may show it: no password, no query (it may carry one too). */
export function describePgUrl(text: string): string {
  try {
    const u = new URL(text);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

/** `postgres://` or `postgresql://`; undefined when unset (the source then refuses to start). */
export const pgUrl: ValueParser<string | undefined> = {
  schema: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        // The text is not quoted: it may hold a password.
        ctx.addIssue({ code: 'custom', message: 'not a URL (expected postgres://user:password@host:port/database)' });
        return z.NEVER;
      }
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        ctx.addIssue({ code: 'custom', message: `expected postgres:// or postgresql://, got "${url.protocol}"` });
        return z.NEVER;
      }
      return v;
    }),
  shown: '–',
  values: '`postgres://user:password@host:port/database` (`?sslmode=…` as `pg` reads it)',
};
