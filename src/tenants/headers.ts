// An endpoint's custom headers: which names it may set, what a value may hold, and how many
// and how large they may be in all. They go out on every attempt, so a registration that
// breaks a rule is refused with the header named rather than failing (or bloating) every
// request. Pure.

/** Most custom headers per endpoint. */
export const MAX_CUSTOM_HEADERS = 32;
/** Most bytes of all custom header names and values together (receivers often cap a request's headers at 8-16 KB). */
export const MAX_CUSTOM_HEADER_BYTES = 8_192;
/** Longest value of one header. */
export const MAX_HEADER_VALUE_CHARS = 4_096;

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
  // W3C Trace Context: the request's own span (docs/observability.md).
  'traceparent',
  'tracestate',
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

/**
 * What is wrong with an endpoint's custom headers; the value itself is never quoted. `name` is
 * the header the problem is about, '' for the headers as a whole (their count or size).
 */
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
  const bytes = Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (Object.keys(headers).length > MAX_CUSTOM_HEADERS)
    out.push({
      name: '',
      message: `at most ${MAX_CUSTOM_HEADERS} custom headers (${Object.keys(headers).length} given)`,
    });
  if (bytes > MAX_CUSTOM_HEADER_BYTES)
    out.push({
      name: '',
      message: `names and values of all custom headers may take at most ${MAX_CUSTOM_HEADER_BYTES} bytes together (${bytes} given)`,
    });
  return out;
}
