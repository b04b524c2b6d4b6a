// Portal links: a host product's backend asks for one (admin API or `wss tenant portal-link`) and
// sends its customer there. Each link opens once: GETDEL takes the record out of Redis in the
// same step that reads it, so two requests racing with one code cannot both start a session.
// It also expires after WSS_PORTAL_LINK_TTL, checked against the clock passed in (Redis
// drops the record then too).
import type { RedisClient } from '../redis/client.js';
import { hashSecret, LINK_PREFIX, looksLike, newId, newSecret } from './credential.js';
import type { AccessKeys } from './keys.js';

export interface LinkRecord {
  id: string;
  tenant: string;
  readOnly: boolean;
  createdAt: string;
  expiresAt: string;
}

export class LinkStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: AccessKeys,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** A new link code (shown once, never stored) and its record. */
  async create(tenant: string, opts: { readOnly: boolean }): Promise<{ code: string; record: LinkRecord }> {
    const nowMs = this.now();
    const code = newSecret(LINK_PREFIX);
    const record: LinkRecord = {
      id: newId('lnk_'),
      tenant,
      readOnly: opts.readOnly,
      createdAt: new Date(nowMs).toISOString(),
      expiresAt: new Date(nowMs + this.ttlMs).toISOString(),
    };
    await this.redis.set(this.keys.link(hashSecret(code)), JSON.stringify(record), 'PX', this.ttlMs);
    return { code, record };
  }

  /** The link's record if it is live; it can never be consumed again either way. */
  async consume(code: string): Promise<LinkRecord | undefined> {
    if (!looksLike(code, LINK_PREFIX)) return undefined;
    const json = await this.redis.getdel(this.keys.link(hashSecret(code)));
    if (json === null) return undefined;
    const record = JSON.parse(json) as LinkRecord;
    return Date.parse(record.expiresAt) <= this.now() ? undefined : record;
  }
}
