// HTTP basic auth for the dashboard and the admin API. There is no unauthenticated mode
// except the explicit WSS_DASHBOARD_AUTH=off; without a configured password a random one is
// generated at start and announced once (password-notice.ts), never logged.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { DashboardConfig } from '../config.js';
import type { AuthFailureLimiter } from './auth-limiter.js';

export type Credentials = { mode: 'off' } | { mode: 'basic'; user: string; password: string; generated: boolean };

export function resolveCredentials(
  config: Pick<DashboardConfig, 'auth' | 'user' | 'password'>,
  random: () => string = randomPassword,
): Credentials {
  if (config.auth === 'off') return { mode: 'off' };
  if (config.password !== undefined)
    return { mode: 'basic', user: config.user, password: config.password, generated: false };
  return { mode: 'basic', user: config.user, password: random(), generated: true };
}

/** 24 URL-safe characters, 144 bits. */
function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

/** The user and password of an `Authorization: Basic …` header, or undefined if it is not one. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic[ \t]+([A-Za-z0-9+/=_-]+)[ \t]*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

// Hashing first gives equal-length buffers, so the comparison time does not depend on where
// the strings differ nor on their lengths.
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

export function credentialsMatch(
  expected: { user: string; password: string },
  given: { user: string; password: string } | undefined,
): boolean {
  if (!given) return false;
  const userOk = sameSecret(expected.user, given.user);
  const passwordOk = sameSecret(expected.password, given.password);
  return userOk && passwordOk;
}

interface AuthThrottle {
  limiter: AuthFailureLimiter;
  now: () => number;
}

export function basicAuth(creds: Credentials, realm = 'webhook-sender', throttle?: AuthThrottle): RequestHandler {
  if (creds.mode === 'off') return (_req, _res, next) => next();
  return (req, res, next) => {
    // The peer address, not X-Forwarded-For (which any client can write).
    const client = req.socket.remoteAddress ?? 'unknown';
    const wait = throttle?.limiter.blockedFor(client, throttle.now()) ?? 0;
    if (wait > 0) {
      res.set('Retry-After', String(Math.ceil(wait / 1_000)));
      res.status(429).json({ error: 'too many failed logins from this address; try again later' });
      return;
    }
    const given = parseBasicAuth(req.headers.authorization);
    if (credentialsMatch(creds, given)) {
      throttle?.limiter.succeed(client);
      return next();
    }
    // A request without credentials is a browser asking for the login prompt, not a guess.
    if (given !== undefined) throttle?.limiter.fail(client, throttle.now());
    res.set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
    res.status(401).json({ error: 'authentication required' });
  };
}
