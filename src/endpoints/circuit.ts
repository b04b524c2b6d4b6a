// The per-endpoint circuit breaker, kept in Redis so every worker replica sees one state: a
// dead endpoint is found dead once, not once per replica, and only one replica probes it.
// States: closed (send), open (send nothing until `openUntil`), half-open (one probe in flight,
// held by a lease so a dead prober does not block the endpoint forever). See docs/circuit-breaker.md.
//
// Cost on the hot path: a process caches a closed, failure-free circuit for CLEAN_CACHE_MS, so a
// healthy endpoint costs no Redis command per delivery; a replica may therefore send for up to
// that long after another replica opened the circuit.
import type { RedisClient } from '../redis/client.js';
import { endpointKeyBase, shardKeyBase, type ShardLayout } from '../redis/shards.js';

export const CIRCUIT_DEFAULTS = Object.freeze({
  /** Consecutive retryable failures that open the circuit. */
  failures: 5,
  /** The first cool-down; each further open in a row doubles it, up to MAX_COOL_DOWN_MS. */
  coolDownMs: 10_000,
});
export const MAX_COOL_DOWN_MS = 600_000;
const CLEAN_CACHE_MS = 500;
/** How long a job waits when another replica holds the probe. */
const PROBE_WAIT_MS = 1_000;
/** Recent failures kept per endpoint for the health view. */
const RECENT = 10;
const RECENT_TTL_SEC = 7 * 86_400;

type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * In the endpoint's shard slot (src/redis/shards.ts), the index of circuits included: the scripts
 * below touch an endpoint's keys and the index together, so the index is one set per shard.
 */
export function circuitKeys(prefix: string, tenant: string, endpoint: string, layout: ShardLayout) {
  const shard = endpointKeyBase(prefix, layout, tenant, endpoint);
  const base = `${shard}:circuit:${tenant}/${endpoint}`;
  return { state: base, recent: `${base}:recent`, index: `${shard}:circuits` };
}

/** The cool-down of the `opens`-th open in a row (1-based). Pure. */
export function coolDownMs(firstMs: number, opens: number): number {
  return Math.min(firstMs * 2 ** Math.min(Math.max(opens - 1, 0), 30), Math.max(MAX_COOL_DOWN_MS, firstMs));
}

// KEYS: state. ARGV: now, probe lease ms. Returns {verdict, failures, waitMs}: verdict 0 = send,
// 1 = send as the probe, 2 = wait.
const GATE = `
local s = redis.call('HMGET', KEYS[1], 'state', 'failures', 'openUntil', 'probeUntil')
local now = tonumber(ARGV[1])
local failures = tonumber(s[2] or '0')
if s[1] ~= 'open' and s[1] ~= 'half-open' then return {0, failures, 0} end
local openUntil = tonumber(s[3] or '0')
if now < openUntil then return {2, failures, openUntil - now} end
local probeUntil = tonumber(s[4] or '0')
if now < probeUntil then return {2, failures, math.min(probeUntil - now, ${PROBE_WAIT_MS})} end
redis.call('HSET', KEYS[1], 'state', 'half-open', 'probeUntil', now + tonumber(ARGV[2]))
return {1, failures, 0}
`;

// KEYS: state, recent, index. ARGV: now, threshold, first cool-down, max cool-down, disable
// after ms (0 = never), failure text, endpoint field. Returns {state, failures, openUntil, disableNow}.
const FAIL = `
local now = tonumber(ARGV[1])
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if redis.call('HSETNX', KEYS[1], 'since', now) == 1 then redis.call('SADD', KEYS[3], ARGV[7]) end
redis.call('HSET', KEYS[1], 'lastFailure', ARGV[6], 'lastFailureAt', now)
redis.call('LPUSH', KEYS[2], now .. ' ' .. ARGV[6])
redis.call('LTRIM', KEYS[2], 0, ${RECENT - 1})
redis.call('EXPIRE', KEYS[2], ${RECENT_TTL_SEC})
local s = redis.call('HMGET', KEYS[1], 'state', 'opens', 'openUntil', 'since', 'disabledAt')
local state = s[1] or 'closed'
local openUntil = tonumber(s[3] or '0')
if state == 'half-open' or (state == 'closed' and failures >= tonumber(ARGV[2])) then
  local opens = tonumber(s[2] or '0') + 1
  local cool = math.min(tonumber(ARGV[3]) * 2 ^ math.min(opens - 1, 30), tonumber(ARGV[4]))
  openUntil = now + cool
  state = 'open'
  redis.call('HSET', KEYS[1], 'state', 'open', 'opens', opens, 'openUntil', openUntil, 'probeUntil', 0)
end
local disableNow = 0
local after = tonumber(ARGV[5])
if after > 0 and not s[5] and now - tonumber(s[4]) >= after then
  redis.call('HSET', KEYS[1], 'disabledAt', now)
  disableNow = 1
end
return {state, failures, openUntil, disableNow}
`;

// KEYS: state, index. ARGV: endpoint field. A success (or any answer that is not a retryable
// failure) closes the circuit and forgets the failures; the recent-failures list stays.
const OK = `
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
`;

export interface CircuitSettings {
  failures: number;
  coolDownMs: number;
  /** Probe lease: how long one replica holds the probe before another may try. */
  probeLeaseMs: number;
}

type GateResult = { send: true; probe: boolean } | { send: false; waitMs: number };

interface FailureResult {
  state: CircuitState;
  failures: number;
  openUntil: number;
  /** True for exactly one caller: the endpoint has failed without a success for disableAfterMs. */
  disableNow: boolean;
}

interface CircuitView {
  state: CircuitState;
  failures: number;
  opens: number;
  openUntil: number | undefined;
  /** Failing without a success since (ms). */
  failingSince: number | undefined;
  recentFailures: Array<{ at: string; reason: string }>;
}

type Redis6 = RedisClient & {
  circuitGate(k: string, now: number, lease: number): Promise<[number, number, number]>;
  circuitFail(...args: Array<string | number>): Promise<[string, number, number, number]>;
  circuitOk(k1: string, k2: string, field: string): Promise<number>;
};

function withScripts(redis: RedisClient): Redis6 {
  const r = redis as Redis6;
  if (typeof r.circuitGate !== 'function') {
    redis.defineCommand('circuitGate', { numberOfKeys: 1, lua: GATE });
    redis.defineCommand('circuitFail', { numberOfKeys: 3, lua: FAIL });
    redis.defineCommand('circuitOk', { numberOfKeys: 2, lua: OK });
  }
  return r;
}

export class CircuitBreaker {
  private readonly redis: Redis6;
  /** Endpoints this process last saw closed with no failures, and when. */
  private readonly clean = new Map<string, number>();
  /** Failures this process reported, so a gate answer older than a failure is not cached as clean. */
  private failuresSeen = 0;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly o: { now: () => number; disableAfterMs: number; layout: ShardLayout },
  ) {
    this.redis = withScripts(redis);
  }

  async gate(tenant: string, endpoint: string, s: CircuitSettings): Promise<GateResult> {
    const field = `${tenant}/${endpoint}`;
    const now = this.o.now();
    const seen = this.clean.get(field);
    if (seen !== undefined && now - seen < CLEAN_CACHE_MS) return { send: true, probe: false };
    const keys = circuitKeys(this.prefix, tenant, endpoint, this.o.layout);
    const before = this.failuresSeen;
    const [verdict, failures, waitMs] = await this.redis.circuitGate(keys.state, now, s.probeLeaseMs);
    if (verdict === 2) {
      this.clean.delete(field);
      return { send: false, waitMs };
    }
    if (verdict === 0 && failures === 0 && before === this.failuresSeen) this.clean.set(field, now);
    else this.clean.delete(field);
    return { send: true, probe: verdict === 1 };
  }

  async failure(tenant: string, endpoint: string, s: CircuitSettings, reason: string): Promise<FailureResult> {
    const field = `${tenant}/${endpoint}`;
    this.clean.delete(field);
    this.failuresSeen++;
    const keys = circuitKeys(this.prefix, tenant, endpoint, this.o.layout);
    const [state, failures, openUntil, disableNow] = await this.redis.circuitFail(
      keys.state,
      keys.recent,
      keys.index,
      this.o.now(),
      s.failures,
      s.coolDownMs,
      Math.max(MAX_COOL_DOWN_MS, s.coolDownMs),
      this.o.disableAfterMs,
      reason.slice(0, 300),
      field,
    );
    return { state: state as CircuitState, failures, openUntil, disableNow: disableNow === 1 };
  }

  /** An answer that is not a retryable failure; only asks Redis when failures may be recorded. */
  async success(tenant: string, endpoint: string, probe: boolean): Promise<void> {
    const field = `${tenant}/${endpoint}`;
    if (!probe && this.clean.has(field)) return;
    const keys = circuitKeys(this.prefix, tenant, endpoint, this.o.layout);
    await this.redis.circuitOk(keys.state, keys.index, field);
    this.clean.set(field, this.o.now());
  }
}

/** The circuit as Redis has it, for the health view. */
export async function readCircuit(
  redis: RedisClient,
  prefix: string,
  tenant: string,
  endpoint: string,
  layout: ShardLayout,
): Promise<CircuitView> {
  const keys = circuitKeys(prefix, tenant, endpoint, layout);
  const [h, recent] = await Promise.all([redis.hgetall(keys.state), redis.lrange(keys.recent, 0, RECENT - 1)]);
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  return {
    state: h['state'] === 'open' || h['state'] === 'half-open' ? h['state'] : 'closed',
    failures: num(h['failures']) ?? 0,
    opens: num(h['opens']) ?? 0,
    openUntil: num(h['openUntil']),
    failingSince: num(h['since']),
    recentFailures: recent.map((line) => {
      const sp = line.indexOf(' ');
      return { at: new Date(Number(line.slice(0, sp))).toISOString(), reason: line.slice(sp + 1) };
    }),
  };
}

/** Forgets the circuit (re-enabling an endpoint starts it closed, its failure clock at zero). */
export async function resetCircuit(
  redis: RedisClient,
  prefix: string,
  tenant: string,
  endpoint: string,
  layout: ShardLayout,
): Promise<void> {
  const keys = circuitKeys(prefix, tenant, endpoint, layout);
  await redis.multi().del(keys.state).srem(keys.index, `${tenant}/${endpoint}`).exec();
}

/**
 * Every endpoint ("tenant/endpoint") with a circuit record, and its state, over every shard: for
 * the metrics scrape. One pipeline per shard (on a cluster a pipeline stays in one slot).
 */
export async function circuitStates(
  redis: RedisClient,
  prefix: string,
  layout: ShardLayout,
): Promise<Array<[string, CircuitState]>> {
  const perShard = await Promise.all(
    Array.from({ length: layout.count }, async (_, k): Promise<Array<[string, CircuitState]>> => {
      const base = shardKeyBase(prefix, layout, k);
      const fields = await redis.smembers(`${base}:circuits`);
      if (fields.length === 0) return [];
      const p = redis.pipeline();
      for (const f of fields) p.hget(`${base}:circuit:${f}`, 'state');
      const res = (await p.exec()) ?? [];
      return fields.map((f, i) => {
        const v = res[i]?.[1];
        return [f, v === 'open' || v === 'half-open' ? v : 'closed'];
      });
    }),
  );
  return perShard.flat();
}
