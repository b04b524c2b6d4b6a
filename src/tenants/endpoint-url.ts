// An endpoint's URL at registration and on display. A literal private address or `localhost`
// is refused unless WSS_ALLOW_PRIVATE_URLS (the worker's connect-time check stays the real
// guard). Credentials written into it: the HTTP client (undici) never sends a URL's
// userinfo (`https://user:pass@host/`), so such an endpoint used to be called without them.
// They are turned into the `Authorization: Basic` header they stand for (as curl and most
// webhook senders do): stored like any custom header (encrypted with WSS_SECRETS_KEY) and
// shown redacted. The URL keeps no credentials. Pure.
import { isIP } from 'node:net';
import { forbiddenAddressReason } from '../lib/ssrf.js';

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

/** True when the URL carries a user name or password. */
export function hasUserinfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

function hasHeader(headers: Readonly<Record<string, string>>, lower: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === lower);
}

/** Why the URL's credentials cannot become the Authorization header, or undefined. */
export function urlCredentialsProblem(url: string, headers: Readonly<Record<string, string>>): string | undefined {
  if (!hasUserinfo(url)) return undefined;
  if (hasHeader(headers, 'authorization'))
    return 'carries credentials (user:password@) and the endpoint also sets an Authorization header: give one of them';
  return undefined;
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * The endpoint with its URL's userinfo moved into `Authorization: Basic <base64(user:password)>`.
 * When an Authorization header is already set (only a stored endpoint of an older version can
 * have both) the header wins, as it did on the wire, and the userinfo is dropped.
 */
export function moveUrlCredentials<T extends { url: string; headers: Record<string, string> }>(ep: T): T {
  if (!hasUserinfo(ep.url)) return ep;
  const u = new URL(ep.url);
  const basic = Buffer.from(`${decoded(u.username)}:${decoded(u.password)}`, 'utf8').toString('base64');
  u.username = '';
  u.password = '';
  const headers = hasHeader(ep.headers, 'authorization')
    ? ep.headers
    : { ...ep.headers, Authorization: `Basic ${basic}` };
  return { ...ep, url: u.toString(), headers };
}

/**
 * The URL as the admin API and the dashboard show it: no userinfo, and every query value
 * replaced by `[hidden]` (`?api_key=…` is a common way to pass a receiver's token). The path
 * is shown: it cannot be told apart from a token there.
 */
export function redactedUrl(url: string, hidden: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  u.username = '';
  u.password = '';
  const names = [...u.searchParams.keys()];
  const base = `${u.origin}${u.pathname}`;
  const query = names.length > 0 ? `?${names.map((n) => `${encodeURIComponent(n)}=${hidden}`).join('&')}` : '';
  // The fragment is never sent; it is not shown either.
  return `${base}${query}`;
}
