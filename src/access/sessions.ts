// Portal sessions, in Redis so every dashboard replica knows them and a logout or expiry holds
// everywhere at once. A session ends after WSS_PORTAL_SESSION_IDLE without a request and
// WSS_PORTAL_SESSION_MAX after it started, both checked against the clock passed in; Redis
// drops the record at the same moments. The cookie carries the session id; Redis holds only
// its hash, and logs name the session by a separate public id.
import type { RedisClient } from '../redis/client.js';
import { hashSecret, looksLike, newId, newSecret, SESSION_PREFIX } from './credential.js';
import type { AccessKeys } from './keys.js';

export interface SessionRecord {
  /** Public id for logs (never the session id). */
  id: string;
  tenant: string;
  readOnly: boolean;
  /** The link that started it. */
  link: string;
  startedMs: number;
  lastSeenMs: number;
}

export interface SessionLimits {
  idleMs: number;
  maxMs: number;
}

/** Pure: whether the session is over at `nowMs`, and why. */
export function sessionEnd(s: SessionRecord, limits: SessionLimits, nowMs: number): 'idle' | 'max' | undefined {
  if (nowMs >= s.startedMs + limits.maxMs) return 'max';
  if (nowMs >= s.lastSeenMs + limits.idleMs) return 'idle';
  return undefined;
}

export class SessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: AccessKeys,
    private readonly limits: SessionLimits,
    private readonly now: () => number,
  ) {}

  /** Starts a session; returns its id (for the cookie only) and record. */
  async start(link: {
    id: string;
    tenant: string;
    readOnly: boolean;
  }): Promise<{ sid: string; session: SessionRecord }> {
    const nowMs = this.now();
    const sid = newSecret(SESSION_PREFIX);
    const session: SessionRecord = {
      id: newId('ses_'),
      tenant: link.tenant,
      readOnly: link.readOnly,
      link: link.id,
      startedMs: nowMs,
      lastSeenMs: nowMs,
    };
    await this.save(sid, session, nowMs, false);
    return { sid, session };
  }

  /**
   * The live session for `sid`, its idle clock restarted; undefined when there is none (never
   * was, logged out, or over: an expired record is deleted here).
   */
  async touch(sid: string): Promise<SessionRecord | undefined> {
    if (!looksLike(sid, SESSION_PREFIX)) return undefined;
    const key = this.keys.session(hashSecret(sid));
    const json = await this.redis.get(key);
    if (json === null) return undefined;
    const session = JSON.parse(json) as SessionRecord;
    const nowMs = this.now();
    if (sessionEnd(session, this.limits, nowMs) !== undefined) {
      await this.redis.del(key);
      return undefined;
    }
    const next = { ...session, lastSeenMs: nowMs };
    // XX: a session deleted meanwhile (logout in another tab) is not brought back.
    if (!(await this.save(sid, next, nowMs, true))) return undefined;
    return next;
  }

  async end(sid: string): Promise<void> {
    if (looksLike(sid, SESSION_PREFIX)) await this.redis.del(this.keys.session(hashSecret(sid)));
  }

  /** Writes the record to expire when the session would; false when `existing` and it was gone. */
  private async save(sid: string, s: SessionRecord, nowMs: number, existing: boolean): Promise<boolean> {
    const ttl = Math.max(1, Math.min(this.limits.idleMs, s.startedMs + this.limits.maxMs - nowMs));
    const key = this.keys.session(hashSecret(sid));
    const res = existing
      ? await this.redis.set(key, JSON.stringify(s), 'PX', ttl, 'XX')
      : await this.redis.set(key, JSON.stringify(s), 'PX', ttl);
    return res === 'OK';
  }
}
