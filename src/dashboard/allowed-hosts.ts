// The Host names the dashboard answers to (WSS_DASHBOARD_HOSTS). The same-origin check on
// writes compares Origin with Host; by itself that lets a DNS-rebinding page (its own name,
// resolving to 127.0.0.1) pass as same-origin. Bounding Host closes that: the rebinding page's
// requests carry its own name.
import type { RequestHandler } from 'express';

interface HostPort {
  host: string;
  port: string | undefined;
}

/** "name", "name:port", "1.2.3.4:port", "[::1]:port" → host and optional port, lower case. */
export function splitHostPort(value: string): HostPort | undefined {
  const v = value.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/.exec(v);
  if (!m) return undefined;
  return { host: m[1]!, port: m[2] };
}

/**
 * What the dashboard accepts when WSS_DASHBOARD_HOSTS is not set: with authentication off
 * (local use) only the loopback names on the dashboard's own port; with it on, any Host
 * (undefined), since a rebinding page has no credentials for the dashboard.
 */
export function defaultDashboardHosts(auth: 'on' | 'off', port: number): readonly string[] | undefined {
  if (auth === 'on') return undefined;
  return [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`];
}

/**
 * Whether a Host header names one of `allowed` ("*" allows any). An entry without a port
 * matches any port; a Host without a port (default port) matches entries without one or with
 * 80 or 443.
 */
export function hostAllowed(hostHeader: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes('*')) return true;
  if (hostHeader === undefined) return false;
  const got = splitHostPort(hostHeader);
  if (!got) return false;
  return allowed.some((entry) => {
    const want = splitHostPort(entry);
    if (!want || want.host !== got.host) return false;
    if (want.port === undefined || want.port === got.port) return true;
    return got.port === undefined && (want.port === '80' || want.port === '443');
  });
}

/** 421 Misdirected Request for any Host not allowed; `allowed()` undefined lets every Host in. */
export function allowedHostsOnly(allowed: () => readonly string[] | undefined): RequestHandler {
  return (req, res, next) => {
    const list = allowed();
    if (list === undefined || hostAllowed(req.headers.host, list)) return next();
    res
      .status(421)
      .json({ error: 'misdirected request: this Host is not one the dashboard serves (WSS_DASHBOARD_HOSTS)' });
  };
}
