// The portal's cookie and its checks. The cookie holds only the session id: HttpOnly (no script
// reads it), SameSite=Strict (no other site's page sends it), Path=/portal (it reaches the
// portal and nothing else of the dashboard), Secure whenever the request came over https
// (directly, through a proxy WSS_TRUST_PROXY trusts) or WSS_PORTAL_PUBLIC_URL is https.
// Writes also pass the dashboard's same-origin check, stricter here: a write must show its
// origin (Sec-Fetch-Site or Origin), as every browser that sends cookies does.
import type { Request, RequestHandler } from 'express';
import { crossSiteReason } from '../dashboard/csrf.js';

export const COOKIE_NAME = 'wss_portal';
export const COOKIE_PATH = '/portal';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function isHttps(req: Request, publicUrl: string | undefined): boolean {
  return req.secure || (publicUrl?.startsWith('https:') ?? false);
}

export function sessionCookie(sid: string, maxAgeMs: number, secure: boolean): string {
  return `${COOKIE_NAME}=${sid}; Path=${COOKIE_PATH}; Max-Age=${Math.floor(maxAgeMs / 1_000)}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearedCookie(secure: boolean): string {
  return `${COOKIE_NAME}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Why a write with the session cookie must be refused as cross-site, or undefined. */
export function portalCrossSiteReason(req: Pick<Request, 'method' | 'headers'>): string | undefined {
  if (SAFE.has(req.method.toUpperCase())) return undefined;
  const reason = crossSiteReason(req.method, req.headers);
  if (reason !== undefined) return reason;
  if (req.headers['sec-fetch-site'] === undefined && req.headers.origin === undefined)
    return 'neither Sec-Fetch-Site nor Origin says where it came from';
  return undefined;
}

export function portalSameOrigin(onRefused: (reason: string) => string): RequestHandler {
  return (req, res, next) => {
    const reason = portalCrossSiteReason(req);
    if (reason === undefined) return next();
    res.status(403).type('html').send(onRefused(reason));
  };
}
