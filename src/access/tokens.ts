// Tenant API tokens: created by the operator, shown once, stored only as a hash, listed without
// the secret, revoked at once. A request is checked against Redis every time (nothing is
// cached), so a revoked token stops working on its next request in every dashboard replica.
import type { RedisClient } from '../redis/client.js';
import { WssError } from '../lib/errors.js';
import { hashSecret, looksLike, newId, newSecret, TOKEN_PREFIX } from './credential.js';
import type { AccessKeys } from './keys.js';

/** Live (unexpired) tokens a tenant may hold at once. */
export const MAX_TOKENS_PER_TENANT = 50;
/** The longest `expiresIn`: ten years. */
export const MAX_TOKEN_LIFETIME_MS = 3_650 * 86_400_000;

export interface TokenRecord {
  id: string;
  tenant: string;
  name: string | null;
  readOnly: boolean;
  createdAt: string;
  /** Null: the token does not expire (it still can be revoked). */
  expiresAt: string | null;
}

export interface TokenListing extends TokenRecord {
  expired: boolean;
}

/** A token request the store refuses: too many tokens, a bad expiry. */
export class TokenRequestError extends WssError {
  constructor(message: string) {
    super('TOKEN_REFUSED', message);
  }
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30d`, `12h`, `90m` → milliseconds, or a TokenRequestError naming `what`. */
export function parseLifetime(text: string, what: string): number {
  const m = /^(\d{1,7})(m|h|d)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[m[2]!]! : NaN;
  if (!(ms > 0 && ms <= MAX_TOKEN_LIFETIME_MS))
    throw new TokenRequestError(`${what}: must be a duration such as 90m, 12h or 30d, at most 3650d`);
  return ms;
}

export class TokenStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: AccessKeys,
    private readonly now: () => number,
  ) {}

  /** A new token for `tenant`: the token text (shown once, never stored) and its record. */
  async create(
    tenant: string,
    opts: { name?: string | undefined; readOnly: boolean; lifetimeMs?: number | undefined },
  ): Promise<{ token: string; record: TokenRecord }> {
    const nowMs = this.now();
    const live = (await this.list(tenant)).filter((t) => !t.expired).length;
    if (live >= MAX_TOKENS_PER_TENANT)
      throw new TokenRequestError(
        `tenant "${tenant}" already holds ${live} live tokens (at most ${MAX_TOKENS_PER_TENANT}); revoke one first`,
      );
    const token = newSecret(TOKEN_PREFIX);
    const hash = hashSecret(token);
    const expiresAtMs = opts.lifetimeMs === undefined ? undefined : nowMs + opts.lifetimeMs;
    const record: TokenRecord = {
      id: newId('tok_'),
      tenant,
      name: opts.name ?? null,
      readOnly: opts.readOnly,
      createdAt: new Date(nowMs).toISOString(),
      expiresAt: expiresAtMs === undefined ? null : new Date(expiresAtMs).toISOString(),
    };
    const m = this.redis.multi();
    // Redis drops the record a day after it expires; until then the check below refuses it.
    if (expiresAtMs === undefined) m.set(this.keys.token(hash), JSON.stringify(record));
    else m.set(this.keys.token(hash), JSON.stringify(record), 'PXAT', Math.max(expiresAtMs, Date.now()) + 86_400_000);
    m.hset(this.keys.tenantTokens(tenant), record.id, JSON.stringify({ ...record, hash }));
    await m.exec();
    return { token, record };
  }

  /** Every token of the tenant, newest first, without secrets (expired ones until revoked). */
  async list(tenant: string): Promise<TokenListing[]> {
    const all = await this.redis.hgetall(this.keys.tenantTokens(tenant));
    const nowMs = this.now();
    return Object.values(all)
      .map((json) => {
        const { hash: _hash, ...record } = JSON.parse(json) as TokenRecord & { hash: string };
        return { ...record, expired: expired(record, nowMs) };
      })
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
  }

  /** Deletes the token; false when the tenant has no token with this id. */
  async revoke(tenant: string, id: string): Promise<boolean> {
    const json = await this.redis.hget(this.keys.tenantTokens(tenant), id);
    if (json === null) return false;
    const { hash } = JSON.parse(json) as { hash: string };
    const res = await this.redis.multi().del(this.keys.token(hash)).hdel(this.keys.tenantTokens(tenant), id).exec();
    return res?.[1]?.[1] === 1;
  }

  /** The record of a live token, or undefined (unknown, revoked, expired or not a token at all). */
  async check(token: string): Promise<TokenRecord | undefined> {
    if (!looksLike(token, TOKEN_PREFIX)) return undefined;
    const json = await this.redis.get(this.keys.token(hashSecret(token)));
    if (json === null) return undefined;
    const record = JSON.parse(json) as TokenRecord;
    return expired(record, this.now()) ? undefined : record;
  }
}

function expired(record: TokenRecord, nowMs: number): boolean {
  return record.expiresAt !== null && Date.parse(record.expiresAt) <= nowMs;
}
