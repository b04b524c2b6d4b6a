// Cross-site request protection for write actions. Browsers attach basic-auth credentials to
// any request to the dashboard's origin, so a page elsewhere could otherwise make a logged-in
// operator's browser retry jobs or change endpoints. Non-browser clients (curl, scripts) send
// neither Origin nor Sec-Fetch-Site and are let through: they have no ambient credentials.
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Why a request must be refused as cross-site, or undefined when it may proceed. */
export function crossSiteReason(method: string, headers: IncomingHttpHeaders): string | undefined {
  if (SAFE_METHODS.has(method.toUpperCase())) return undefined;
  // Fetch metadata is set by the browser and cannot be forged by a page: trust it first.
  const site = first(headers['sec-fetch-site'])?.toLowerCase();
  if (site !== undefined) {
    return site === 'same-origin' || site === 'none' ? undefined : `Sec-Fetch-Site is "${site}"`;
  }
  const host = first(headers.host)?.toLowerCase();
  const origin = first(headers.origin);
  // Host only, not the scheme: behind a TLS-terminating proxy the browser's https origin
  // reaches us as plain http.
  if (origin !== undefined) {
    if (origin === 'null') return 'Origin is "null"';
    return hostOf(origin) !== undefined && hostOf(origin) === host ? undefined : 'Origin does not match Host';
  }
  const referer = first(headers.referer);
  if (referer !== undefined)
    return hostOf(referer) !== undefined && hostOf(referer) === host ? undefined : 'Referer does not match Host';
  return undefined;
}

export function sameOriginOnly(): RequestHandler {
  return (req, res, next) => {
    const reason = crossSiteReason(req.method, req.headers);
    if (reason === undefined) return next();
    res.status(403).json({ error: `cross-site request refused (${reason})` });
  };
}
