// Requests per tenant per minute (WSS_TENANT_RATE_LIMIT), counted in Redis so the limit holds
// across dashboard replicas: one INCR (and PEXPIRE on a window's first request) per request.
// Fixed one-minute windows: a tenant may reach twice the limit across a window boundary, which
// is enough to stop a runaway script and costs one key per tenant per minute.
import type { RedisClient } from '../redis/client.js';
import type { AccessKeys } from './keys.js';

export const RATE_WINDOW_MS = 60_000;

export type RateVerdict = { ok: true } | { ok: false; retryAfterMs: number };

export class TenantRateLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: AccessKeys,
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  async take(tenant: string): Promise<RateVerdict> {
    const nowMs = this.now();
    const window = Math.floor(nowMs / RATE_WINDOW_MS);
    const key = this.keys.rate(tenant, window);
    const count = await this.redis.incr(key);
    if (count === 1) await this.redis.pexpire(key, RATE_WINDOW_MS * 2);
    if (count <= this.perMinute) return { ok: true };
    return { ok: false, retryAfterMs: (window + 1) * RATE_WINDOW_MS - nowMs };
  }
}
