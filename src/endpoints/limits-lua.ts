// The Lua side of the fleet-wide endpoint limits (endpoints/limits.ts). Each script runs
// atomically in Redis and reads the time from Redis (TIME), so every replica agrees on it
// whatever its own clock says. Per endpoint there are up to three keys:
//   <prefix>:limits:<tenant>:<endpoint>:slots   ZSET lease id → expiry (ms): maxInFlight
//   <prefix>:limits:<tenant>:<endpoint>:tokens  ZSET grant id → when its token returns (ms): rateLimit
//   <prefix>:limits:<tenant>:<endpoint>:pause   HASH until, streak: set after a 429/503

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: slots, tokens, pause. ARGV: id, maxInFlight (0: none), leaseMs, rateMax (0: none), perMs,
 * then the ids of slots of this endpoint that this worker has given back since (removed first:
 * a busy endpoint's releases ride along instead of costing a command each).
 * Returns {1, 0, '', inFlight} when admitted (slot and token taken together), else
 * {0, waitHintMs, reason, inFlight}. Nothing is taken when the answer is no.
 *
 * The rate limit is a token bucket of `rateMax` tokens in which a spent token returns exactly
 * `perMs` after it was spent: no window of `perMs` ever holds more than `rateMax` grants, and a
 * full bucket may be spent at once.
 */
export const ACQUIRE_LUA = `${NOW}
for i = 6, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
local pausedUntil = tonumber(redis.call('HGET', KEYS[3], 'until') or '0')
if pausedUntil > now then return {0, pausedUntil - now, 'paused', 0} end
local maxIn = tonumber(ARGV[2])
local inFlight = 0
if maxIn > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  inFlight = redis.call('ZCARD', KEYS[1])
  if inFlight >= maxIn then return {0, 0, 'max-in-flight', inFlight} end
end
local rateMax = tonumber(ARGV[4])
if rateMax > 0 then
  local perMs = tonumber(ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= rateMax then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {0, tonumber(first[2]) - now, 'rate-limit', inFlight}
  end
  redis.call('ZADD', KEYS[2], now + perMs, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], perMs + 1000)
end
if maxIn > 0 then
  local leaseMs = tonumber(ARGV[3])
  redis.call('ZADD', KEYS[1], now + leaseMs, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], leaseMs * 2)
  inFlight = inFlight + 1
end
return {1, 0, '', inFlight}
`;

/** KEYS: the slots key of each lease. ARGV: leaseMs, then the lease ids in KEYS order. Extends leases still held. */
export const RENEW_LUA = `${NOW}
local leaseMs = tonumber(ARGV[1])
local renewed = 0
for i, key in ipairs(KEYS) do
  renewed = renewed + redis.call('ZADD', key, 'XX', 'CH', now + leaseMs, ARGV[i + 1])
  redis.call('PEXPIRE', key, leaseMs * 2)
end
return renewed
`;

/**
 * KEYS: pause. ARGV: retryAfterMs (-1: none given), baseMs, capMs. Pauses the endpoint for
 * Retry-After, or else for baseMs doubling with each 429/503 that comes after the previous
 * pause ended (answers to requests already in flight do not compound it), up to capMs. The
 * streak is forgotten once the endpoint has been quiet for twice its last pause.
 * Returns the pause in ms from now.
 */
export const PAUSE_LUA = `${NOW}
local untilMs = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
local streak = tonumber(redis.call('HGET', KEYS[1], 'streak') or '0')
local ms = tonumber(ARGV[1])
if ms < 0 then ms = math.min(tonumber(ARGV[2]) * math.pow(2, math.min(streak, 30)), tonumber(ARGV[3])) end
if untilMs <= now then streak = streak + 1 end
if now + ms > untilMs then untilMs = now + ms end
redis.call('HSET', KEYS[1], 'until', untilMs, 'streak', streak)
redis.call('PEXPIRE', KEYS[1], math.max(untilMs - now, 1) + 2 * math.max(ms, tonumber(ARGV[2])))
return untilMs - now
`;
