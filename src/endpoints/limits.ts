// Fleet-wide endpoint limits: `maxInFlight` and `rateLimit` of an endpoint hold across every
// worker process, because the slots and tokens live in Redis (endpoints/limits-lua.ts). One
// script call (one round trip) admits a delivery; an endpoint with neither limit costs nothing.
//
// A slot is a lease that expires unless renewed: this process renews the leases it holds every
// third of WSS_ENDPOINT_LEASE_MS, so a killed worker's slots come back within that time.
// A 429 or 503 from the receiver pauses the whole endpoint (Retry-After, else a growing pause)
// for every replica: its other jobs wait instead of being sent.
// A job that is not admitted goes back to BullMQ's delayed set without spending an attempt;
// `waitMs` says when to offer it again, spaced along a per-endpoint line (defer-lines.ts) so a
// backlog returns about when it can be served rather than all at once.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/client.js';
import { DeliveryError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { countThrottled, endpointInFlightOf } from '../lib/metrics.js';
import { DeferLines, type EndpointLimitsConfig } from './defer-lines.js';
import { ACQUIRE_LUA, PAUSE_LUA, RENEW_LUA } from './limits-lua.js';
import { queueTag } from '../queue/delivery-queues.js';
import { endpointKeyBase, type ShardLayout } from '../redis/shards.js';

export type ThrottleReason = 'max-in-flight' | 'rate-limit' | 'paused' | 'process-cap';

interface Lease {
  tenant: string;
  endpoint: string;
  /** Set when the endpoint has a fleet-wide limit. */
  limited: boolean;
  /** The slot's id and key in Redis (maxInFlight only). */
  slot?: { id: string; key: string };
  startedAt: number;
}

export type Admission = { lease: Lease } | { waitMs: number; reason: ThrottleReason };

interface LimitsOptions {
  redis: RedisClient;
  prefix: string;
  /** Where each endpoint's keys live (its shard's slot). */
  layout: ShardLayout;
  leaseMs: number;
  /** Caps the growing pause after a 429/503 without Retry-After. */
  retryAfterMaxMs: number;
  /** A monotonic clock, ms (durations only; Redis keeps the shared time). */
  now: () => number;
  random: () => number;
  log: Logger;
}

/** The first pause after a 429/503 without Retry-After; it doubles up to PAUSE_MAX_MS. */
const PAUSE_BASE_MS = 1_000;
const PAUSE_MAX_MS = 60_000;
/** A given-back slot not carried by an admission within this long is sent on its own. */
const RELEASE_FLUSH_MS = 5;

interface Scripts {
  wssLimitAcquire(
    slots: string,
    tokens: string,
    pause: string,
    id: string,
    maxIn: number,
    leaseMs: number,
    rateMax: number,
    perMs: number,
    ...released: string[]
  ): Promise<[number, number, string, number]>;
  wssLimitRenew(n: number, ...keysThenArgs: Array<string | number>): Promise<number>;
  wssLimitPause(pause: string, retryAfterMs: number, baseMs: number, capMs: number): Promise<number>;
}

/**
 * The keys one endpoint's limits use in Redis (endpoints/limits-lua.ts says what each holds), in
 * the endpoint's shard slot so the scripts over them stay in one slot.
 */
export function limitKeys(prefix: string, tenant: string, endpoint: string, layout: ShardLayout) {
  const base = `${endpointKeyBase(prefix, layout, tenant, endpoint)}:limits:${tenant}:${endpoint}`;
  return { slots: `${base}:slots`, tokens: `${base}:tokens`, pause: `${base}:pause` };
}

/**
 * What the fleet holds of an endpoint's limits now, for the health route: slots whose lease has
 * not expired, tokens spent within the last `perMs`, and a 429/503 pause. Scores are Redis TIME.
 */
export async function readLimits(
  redis: RedisClient,
  prefix: string,
  tenant: string,
  endpoint: string,
  ep: EndpointLimitsConfig,
  layout: ShardLayout,
) {
  const k = limitKeys(prefix, tenant, endpoint, layout);
  const [sec, micro] = (await redis.time()) as [string | number, string | number];
  const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
  const res =
    (await redis
      .multi()
      .zcount(k.slots, `(${now}`, '+inf')
      .zcount(k.tokens, `(${now}`, '+inf')
      .hget(k.pause, 'until')
      .exec()) ?? [];
  const [inFlight, spent, until] = res.map(([err, v]) => (err ? null : v)) as [
    number | null,
    number | null,
    string | null,
  ];
  const pausedUntil = Number(until ?? 0);
  return {
    maxInFlight: ep.maxInFlight ?? null,
    // Slots are only recorded in Redis for an endpoint with maxInFlight or rateLimit set.
    inFlight: ep.maxInFlight === undefined && ep.rateLimit === undefined ? null : inFlight,
    rateLimit: ep.rateLimit ?? null,
    tokensLeft: ep.rateLimit === undefined ? null : Math.max(0, ep.rateLimit.max - (spent ?? 0)),
    pausedUntil: pausedUntil > now ? new Date(pausedUntil).toISOString() : null,
  };
}

export class EndpointLimits {
  private readonly held = new Map<string, string>(); // lease id → slots key
  private readonly localPause = new Map<string, number>(); // endpoint → paused until (local clock)
  private readonly lines: DeferLines;
  private readonly redis: RedisClient & Scripts;
  private readonly owner = randomUUID().slice(0, 12);
  private seq = 0;
  private renewing: NodeJS.Timeout | undefined;
  /** Slots given back but not yet removed in RedisClient, per slots key (see release). */
  private readonly releasing = new Map<string, string[]>();
  private flushing: NodeJS.Timeout | undefined;

  constructor(private readonly o: LimitsOptions) {
    this.lines = new DeferLines(o.now);
    o.redis.defineCommand('wssLimitAcquire', { numberOfKeys: 3, lua: ACQUIRE_LUA });
    o.redis.defineCommand('wssLimitRenew', { lua: RENEW_LUA });
    o.redis.defineCommand('wssLimitPause', { numberOfKeys: 1, lua: PAUSE_LUA });
    this.redis = o.redis as RedisClient & Scripts;
  }

  private keys(tenant: string, endpoint: string) {
    return limitKeys(this.o.prefix, tenant, endpoint, this.o.layout);
  }

  private granted(tenant: string, endpoint: string, limited: boolean, slot?: Lease['slot']): { lease: Lease } {
    endpointInFlightOf(tenant, endpoint).inc();
    return { lease: { tenant, endpoint, limited, ...(slot ? { slot } : {}), startedAt: this.o.now() } };
  }

  private wait(
    tenant: string,
    endpoint: string,
    reason: ThrottleReason,
    hintMs: number,
    limits: EndpointLimitsConfig,
  ): Admission {
    countThrottled(tenant, endpoint, reason);
    const ms = this.lines.defer(`${tenant}/${endpoint}`, hintMs, limits);
    // Up to 10 % jitter so the replicas' deferred jobs do not return in step.
    return { waitMs: Math.round(ms * (1 + this.o.random() * 0.1)), reason };
  }

  /** Admits one delivery, or says how long it should wait. No Redis call unless the endpoint has a limit. */
  async acquire(tenant: string, endpoint: string, limits: EndpointLimitsConfig | undefined): Promise<Admission> {
    if (!limits || (limits.maxInFlight === undefined && limits.rateLimit === undefined))
      return this.granted(tenant, endpoint, false);
    const key = `${tenant}/${endpoint}`;
    const pausedFor = (this.localPause.get(key) ?? 0) - this.o.now();
    if (pausedFor > 0) return this.wait(tenant, endpoint, 'paused', pausedFor, limits);
    this.localPause.delete(key);
    const k = this.keys(tenant, endpoint);
    const id = `${this.owner}:${++this.seq}`;
    const maxIn = limits.maxInFlight ?? 0;
    const released = this.releasing.get(k.slots) ?? [];
    this.releasing.delete(k.slots);
    const [ok, hintMs, reason] = await this.redis.wssLimitAcquire(
      k.slots,
      k.tokens,
      k.pause,
      id,
      maxIn,
      this.o.leaseMs,
      limits.rateLimit?.max ?? 0,
      limits.rateLimit?.perMs ?? 0,
      ...released,
    );
    if (ok !== 1) return this.wait(tenant, endpoint, reason as ThrottleReason, Number(hintMs), limits);
    if (maxIn === 0) return this.granted(tenant, endpoint, true);
    this.held.set(id, k.slots);
    this.renewing ??= setInterval(() => this.renew(), Math.max(Math.floor(this.o.leaseMs / 3), 100)).unref();
    return this.granted(tenant, endpoint, true, { id, key: k.slots });
  }

  /**
   * Gives the slot back, without waiting for Redis: the slot's id rides on this worker's next
   * admission for the same endpoint, or goes out on its own within RELEASE_FLUSH_MS. If Redis
   * never hears of it, the lease expires. `failure`: what the attempt threw; a 429 or 503
   * pauses the endpoint for every replica.
   */
  release(lease: Lease, failure?: unknown): void {
    const { tenant, endpoint } = lease;
    endpointInFlightOf(tenant, endpoint).dec();
    if (!lease.limited) return;
    this.lines.served(`${tenant}/${endpoint}`, this.o.now() - lease.startedAt);
    if (lease.slot) this.giveBack(lease.slot);
    if (failure instanceof DeliveryError && (failure.status === 429 || failure.status === 503))
      this.pause(tenant, endpoint, failure.retryAfterMs);
  }

  /** Gives back an admission that was not used (this process's own cap said wait). Its rate token stays spent. */
  cancel(lease: Lease): void {
    const { tenant, endpoint } = lease;
    endpointInFlightOf(tenant, endpoint).dec();
    if (lease.slot) this.giveBack(lease.slot);
  }

  private giveBack(slot: { id: string; key: string }): void {
    this.held.delete(slot.id);
    const ids = this.releasing.get(slot.key);
    if (ids) ids.push(slot.id);
    else this.releasing.set(slot.key, [slot.id]);
    this.flushing ??= setTimeout(() => this.flush(), RELEASE_FLUSH_MS);
  }

  /** Sends the releases that no admission has carried. */
  private flush(): void {
    this.flushing = undefined;
    for (const [key, ids] of this.releasing) {
      this.redis
        .zrem(key, ...ids)
        .catch((err: unknown) =>
          this.o.log.warn(
            { err: errorMessage(err) },
            'endpoint limits: could not give slots back; their leases expire by themselves',
          ),
        );
    }
    this.releasing.clear();
  }

  private pause(tenant: string, endpoint: string, retryAfterMs: number | undefined): void {
    const cap = Math.min(PAUSE_MAX_MS, this.o.retryAfterMaxMs);
    this.redis
      .wssLimitPause(this.keys(tenant, endpoint).pause, retryAfterMs ?? -1, Math.min(PAUSE_BASE_MS, cap), cap)
      .then((ms) => {
        this.localPause.set(`${tenant}/${endpoint}`, this.o.now() + Number(ms));
        this.o.log.warn({ tenant, endpoint, pauseMs: Number(ms) }, 'endpoint paused: the receiver answered 429/503');
      })
      .catch((err: unknown) =>
        this.o.log.warn({ tenant, endpoint, err: errorMessage(err) }, 'endpoint limits: could not record the pause'),
      );
  }

  private renew(): void {
    if (this.held.size === 0) {
      clearInterval(this.renewing);
      this.renewing = undefined;
      return;
    }
    // One script call per shard: a script's keys must share a slot on a Redis Cluster.
    const byTag = new Map<string, string[]>();
    for (const [id, key] of this.held) {
      const tag = queueTag(key.slice(0, key.indexOf('}') + 1));
      const ids = byTag.get(tag);
      if (ids) ids.push(id);
      else byTag.set(tag, [id]);
    }
    for (const ids of byTag.values()) {
      const keys = ids.map((id) => this.held.get(id)!);
      this.redis
        .wssLimitRenew(keys.length, ...keys, this.o.leaseMs, ...ids)
        .catch((err: unknown) =>
          this.o.log.warn({ err: errorMessage(err) }, 'endpoint limits: could not renew slot leases'),
        );
    }
  }

  close(): void {
    clearInterval(this.renewing);
    this.renewing = undefined;
    clearTimeout(this.flushing);
    this.flush();
  }
}
