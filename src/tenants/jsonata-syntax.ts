// Whether a tenant's filter or transform compiles, and if not, jsonata's own words for it. Kept
// apart from the schema: jsonata throws plain objects, not Errors, and a bare String() of one read
// `invalid jsonata: [object Object]` (issue 18).
import jsonata from 'jsonata';
import { errorMessage } from '../lib/errors.js';

/**
 * Why `expr` does not compile, or undefined. jsonata throws plain objects (not Errors) with a
 * `message`, a `code` and a `position`: shown as `Unexpected end of expression (S0207 at
 * position 14)`. The text quotes only the expression's own tokens, never event data.
 */
export function compileProblem(expr: string): string | undefined {
  try {
    jsonata(expr);
    return undefined;
  } catch (err) {
    const e = (err ?? {}) as { message?: unknown; code?: unknown; position?: unknown };
    if (typeof e.message !== 'string') return errorMessage(err);
    const code = typeof e.code === 'string' ? e.code : undefined;
    const at = typeof e.position === 'number' ? `at position ${e.position}` : undefined;
    const where = [code, at].filter((x) => x !== undefined).join(' ');
    return where === '' ? e.message : `${e.message} (${where})`;
  }
}
