// Slows down password guessing: after AUTH_LIMITS.maxFailures wrong basic-auth attempts from
// one client address within AUTH_LIMITS.windowMs, that address gets 429 until the window
// ends, whatever credentials it sends (so the answer reveals nothing about a guess). Pure:
// the caller passes the time in. In memory, per process; numbers in docs/security.md.

interface AuthLimits {
  /** Wrong attempts allowed per client within one window. */
  maxFailures: number;
  /** The window starts at a client's first failure. */
  windowMs: number;
  /** Clients remembered at most; the oldest windows are forgotten first. */
  maxClients: number;
}

export const AUTH_LIMITS: AuthLimits = Object.freeze({ maxFailures: 10, windowMs: 5 * 60_000, maxClients: 10_000 });

interface Window {
  start: number;
  failures: number;
}

export class AuthFailureLimiter {
  private readonly clients = new Map<string, Window>();

  constructor(private readonly limits: AuthLimits = AUTH_LIMITS) {}

  /** Milliseconds until `client` may try again; 0 when it may try now. */
  blockedFor(client: string, now: number): number {
    const w = this.clients.get(client);
    if (!w) return 0;
    const ends = w.start + this.limits.windowMs;
    if (now >= ends) {
      this.clients.delete(client);
      return 0;
    }
    return w.failures >= this.limits.maxFailures ? ends - now : 0;
  }

  fail(client: string, now: number): void {
    const w = this.clients.get(client);
    if (w && now < w.start + this.limits.windowMs) {
      w.failures++;
      return;
    }
    // Re-inserted so the map's order stays the order in which windows started.
    this.clients.delete(client);
    this.clients.set(client, { start: now, failures: 1 });
    if (this.clients.size > this.limits.maxClients) this.prune(now);
  }

  /** A correct login forgets the client's earlier mistakes. */
  succeed(client: string): void {
    this.clients.delete(client);
  }

  /** Clients currently remembered (for tests). */
  get size(): number {
    return this.clients.size;
  }

  private prune(now: number): void {
    for (const [client, w] of this.clients) if (now >= w.start + this.limits.windowMs) this.clients.delete(client);
    for (const client of this.clients.keys()) {
      if (this.clients.size <= this.limits.maxClients) break;
      this.clients.delete(client);
    }
  }
}
