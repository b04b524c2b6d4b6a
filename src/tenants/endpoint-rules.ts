// What an endpoint's request may carry, checked when the endpoint is registered: its custom
// headers (none the sender owns, none that changes how the request is framed, values without
// control characters) and, unless private URLs are allowed, a URL host that is not obviously
// private. Pure; schema.ts reports each problem with the tenant, endpoint and field.
import { isIP } from 'node:net';
import { forbiddenAddressReason } from '../lib/ssrf.js';

// Headers the sender owns: an endpoint's own headers may not replace them.
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'user-agent',
  'host',
  'connection',
  'transfer-encoding',
  'te',
  'upgrade',
  'expect',
  'keep-alive',
]);
// Sent in Standard Webhooks mode; a custom header of the same name in other case would go out twice.
const STANDARD_WEBHOOKS_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

// Headers that would change how the request is framed, routed or read: refused so a typo
// cannot become a request every attempt of which fails.
const FORBIDDEN_HEADERS = new Set(['trailer', 'content-encoding', 'date']);
// RFC 9110 field-value without obs-text: visible ASCII, space and tab. CR, LF, NUL and the
// other controls would be refused by the HTTP client at send time (a retryable error, 20 times).
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** What is wrong with an endpoint's custom headers; the value itself is never quoted. */
export function headerProblems(headers: Readonly<Record<string, string>>): Array<{ name: string; message: string }> {
  const out: Array<{ name: string; message: string }> = [];
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) out.push({ name, message: 'is not a valid header name (RFC 9110 token)' });
    else if (lower.startsWith('x-wss-') || RESERVED_HEADERS.has(lower) || STANDARD_WEBHOOKS_HEADERS.has(lower))
      out.push({ name, message: 'is set by webhook-sender and cannot be overridden' });
    else if (lower.startsWith('proxy-') || FORBIDDEN_HEADERS.has(lower))
      out.push({ name, message: 'may not be set on a webhook request' });
    const twin = seen.get(lower);
    if (twin !== undefined) out.push({ name, message: `duplicates header "${twin}" (names are case-insensitive)` });
    seen.set(lower, name);
    if (!HEADER_VALUE.test(value))
      out.push({
        name,
        message: 'value may hold only visible ASCII, space and tab (no CR, LF, NUL or other control characters)',
      });
  }
  return out;
}

/**
 * Why a URL is refused at registration when private addresses are not allowed: a literal
 * private IP or `localhost`. Names are only resolved at connect time (src/workers/http.ts),
 * which stays the real guard; this catches the obvious cases when the endpoint is registered.
 */
export function privateUrlProblem(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return undefined; // the URL rule reports it
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const bare = host.endsWith('.') ? host.slice(0, -1) : host;
  if (bare === 'localhost' || bare.endsWith('.localhost'))
    return 'points at localhost; set WSS_ALLOW_PRIVATE_URLS=true to allow it';
  if (isIP(host) === 0) return undefined;
  const why = forbiddenAddressReason(host);
  return why === undefined ? undefined : `is a private address (${why}); set WSS_ALLOW_PRIVATE_URLS=true to allow it`;
}
