// The search's filters, checked in full before anything is read (each problem names its field),
// and its opaque cursor. Pure: `now` is passed in for relative times (`since=2h`).
import { ID_PATTERN } from '../tenants/schema.js';
import { inTimeRange } from '../lib/time-arg.js';
import { SETTLED_STATES, type SettledState } from './keys.js';

const SEARCH_LIMIT_MAX = 500;
const SEARCH_LIMIT_DEFAULT = 50;

export interface SearchQuery {
  tenant: string;
  endpoint?: string;
  state?: SettledState;
  sinceMs?: number;
  untilMs?: number;
  limit: number;
  cursor?: SearchCursor;
}

/** The last item of the previous page: its stream id and stream (`endpoint/state`). */
interface SearchCursor {
  id: string;
  stream: string;
}

export class SearchQueryError extends Error {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An ISO 8601 time, milliseconds since the epoch, or a duration back from now (`90s`, `15m`, `2h`, `3d`). */
export function parseTime(field: string, v: string, now: number): number {
  const rel = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(v);
  let ms: number;
  if (rel) ms = Math.round(now - Number(rel[1]) * UNIT_MS[rel[2]!]!);
  else if (/^\d{1,16}$/.test(v)) ms = Number(v);
  // A date-time, not a bare year or number Date.parse would also take.
  else ms = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms))
    throw new SearchQueryError(
      field,
      `"${v.slice(0, 40)}" is not a time: give an ISO 8601 time (2026-11-30T09:00:00Z), milliseconds since the epoch, or a duration ago (90s, 15m, 2h, 3d)`,
    );
  // Past these a Redis stream id or a Date cannot hold it (a 500 before).
  if (inTimeRange(ms) === undefined)
    throw new SearchQueryError(
      field,
      `"${v.slice(0, 40)}" is out of range: the time must fall between 1970 and the year 275760`,
    );
  return ms;
}

export function encodeCursor(c: SearchCursor): string {
  return Buffer.from(JSON.stringify([c.id, c.stream])).toString('base64url');
}

/** A stream id this search can have handed out: both parts safe integers, the time a Date can hold. */
function cursorId(id: unknown): id is string {
  const m = typeof id === 'string' ? /^(\d{1,16})-(\d{1,16})$/.exec(id) : null;
  return m !== null && inTimeRange(Number(m[1])) !== undefined && Number.isSafeInteger(Number(m[2]));
}

/** `<endpoint id>/<state>`, the name the search gives each stream. */
function cursorStream(stream: unknown): stream is string {
  if (typeof stream !== 'string') return false;
  const [endpoint, state, more] = stream.split('/');
  return (
    more === undefined && ID_PATTERN.test(endpoint ?? '') && (SETTLED_STATES as readonly string[]).includes(state ?? '')
  );
}

export function decodeCursor(v: string): SearchCursor {
  try {
    const [id, stream] = JSON.parse(Buffer.from(v, 'base64url').toString('utf8')) as unknown[];
    if (cursorId(id) && cursorStream(stream)) return { id, stream };
  } catch {
    // reported below
  }
  throw new SearchQueryError('cursor', 'not a cursor of this search (pass nextCursor back unchanged)');
}

/** `input`: the query string values (a repeated parameter is refused). */
export function parseSearchQuery(input: Record<string, unknown>, now: number): SearchQuery {
  const str = (k: string): string | undefined => {
    const v = input[k];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw new SearchQueryError(k, 'give it once');
    return v;
  };
  const known = ['tenant', 'endpoint', 'state', 'since', 'until', 'limit', 'cursor'];
  for (const k of Object.keys(input))
    if (!known.includes(k)) throw new SearchQueryError(k, `unknown parameter (known: ${known.join(', ')})`);
  const tenant = str('tenant');
  if (tenant === undefined)
    throw new SearchQueryError('tenant', 'required: a search covers the endpoints of one tenant');
  if (!ID_PATTERN.test(tenant)) throw new SearchQueryError('tenant', 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');
  const endpoint = str('endpoint');
  if (endpoint !== undefined && !ID_PATTERN.test(endpoint))
    throw new SearchQueryError('endpoint', 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');
  const state = str('state');
  if (state !== undefined && !(SETTLED_STATES as readonly string[]).includes(state))
    throw new SearchQueryError(
      'state',
      `must be one of ${SETTLED_STATES.join(', ')} (the log is searched by how deliveries ended; a live delivery is looked up by event id)`,
    );
  const since = str('since');
  const until = str('until');
  const sinceMs = since === undefined ? undefined : parseTime('since', since, now);
  const untilMs = until === undefined ? undefined : parseTime('until', until, now);
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs > untilMs)
    throw new SearchQueryError('since', 'is after until');
  const limitText = str('limit');
  let limit = SEARCH_LIMIT_DEFAULT;
  if (limitText !== undefined) {
    limit = /^\d{1,9}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= SEARCH_LIMIT_MAX))
      throw new SearchQueryError(
        'limit',
        `must be a whole number from 1 to ${SEARCH_LIMIT_MAX}, got "${limitText.slice(0, 20)}"`,
      );
  }
  const cursorText = str('cursor');
  return {
    tenant,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(state === undefined ? {} : { state: state as SettledState }),
    ...(sinceMs === undefined ? {} : { sinceMs }),
    ...(untilMs === undefined ? {} : { untilMs }),
    limit,
    ...(cursorText === undefined ? {} : { cursor: decodeCursor(cursorText) }),
  };
}
