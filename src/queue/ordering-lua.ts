// The Lua of ordering keys (docs/ordering.md). Each script runs on one shard's slot: every key it
// touches (the shard's live set, a key's queue and state, the BullMQ job hashes and sets of the
// shard's queue) carries the shard's hash tag, so it works on a Redis Cluster. The scripts are
// the only writers of the ordering state; their invariants are argued in docs/ordering.md.

/**
 * ADD. KEYS[1] live. ARGV: base, ttlS, now, then per job: id, member, key, tenant.endpoint, policy.
 * The job itself was added (parked) before: a member never names a job that does not exist yet.
 */
export const ADD_LUA = `
local live = KEYS[1]
local base, ttl, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 4, #ARGV, 5 do
  local id = ARGV[i]
  local s = base .. ':ord:s:' .. id
  redis.call('ZADD', base .. ':ord:q:' .. id, 0, ARGV[i + 1])
  redis.call('HSET', s, 'k', ARGV[i + 2], 't', ARGV[i + 3], 'p', ARGV[i + 4])
  redis.call('EXPIRE', s, ttl)
  local at = redis.call('ZSCORE', live, id)
  if not at or tonumber(at) > now then redis.call('ZADD', live, now, id) end
end
return 1
`;

/**
 * STEP. KEYS[1] live. ARGV: base, queueKeyPrefix (\`<prefix>:<queue>:\`), watermark (or @key to read it), now, healMs,
 * ttlS, parkedAfterTs, mode (pass | guard | skip), target (guard: the job's member; skip: its id), then the key ids.
 * For each key: drop ended heads (completed, removed, or failed with policy continue); a failed
 * head with policy block stays and marks the key blocked; a released head parked by mistake is
 * to be promoted; an unreleased head below the watermark is released (sequence assigned once)
 * and to be promoted. Returns a flat list of action, jobId pairs: promote | blocked | go
 * (guard: the job is the released head; its sequence follows) | skipped.
 */
export const STEP_LUA = `
local live = KEYS[1]
local base, qp, wm = ARGV[1], ARGV[2], ARGV[3]
local now, heal, ttl, parked = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local mode, target = ARGV[8], ARGV[9]
-- guard: target is the job's member (position|jobId); skip: the job id.
local tjid = target
if mode == 'guard' then tjid = string.sub(target, string.find(target, '|', 1, true) + 1) end
-- On one Redis the watermark is read here (saves a round trip); on a cluster the caller passes it.
if string.sub(wm, 1, 1) == '@' then wm = redis.call('GET', string.sub(wm, 2)) or '' end
local blocked = base .. ':ord:blocked'
local out = {}
for i = 10, #ARGV do
  local id = ARGV[i]
  local q, s = base .. ':ord:q:' .. id, base .. ':ord:s:' .. id
  if mode == 'guard' and not redis.call('ZSCORE', q, target) then
    -- Not in its key's queue: it left the key's order (failed with continue, or skipped) and
    -- was recovered since. Sent as it is, with the sequence it had, if still known.
    out[#out + 1] = 'go'
    out[#out + 1] = redis.call('HGET', s, string.sub(target, string.find(target, '|', 1, true) + 1)) or ''
    return out
  end
  if mode == 'skip' then
    local head = redis.call('ZRANGE', q, 0, 0)[1]
    if head and string.sub(head, string.find(head, '|', 1, true) + 1) == target
      and redis.call('ZSCORE', qp .. 'failed', target) then
      redis.call('ZREM', q, head)
      if redis.call('HGET', s, 'r') == target then redis.call('HDEL', s, 'r') end
      redis.call('HDEL', blocked, id)
      out[#out + 1] = 'skipped'
      out[#out + 1] = target
    end
  end
  for _ = 1, 1000 do
    local head = redis.call('ZRANGE', q, 0, 0)[1]
    if not head then
      redis.call('ZREM', live, id)
      redis.call('HDEL', blocked, id)
      break
    end
    local bar = string.find(head, '|', 1, true)
    local pos, jid = string.sub(head, 1, bar - 1), string.sub(head, bar + 1)
    local jk = qp .. jid
    local ended = redis.call('EXISTS', jk) == 0
    if not ended and redis.call('HEXISTS', jk, 'finishedOn') == 1 then
      local failed = redis.call('ZSCORE', qp .. 'failed', jid)
      if failed and redis.call('HGET', s, 'p') == 'block' then
        redis.call('HSET', blocked, id, jid)
        redis.call('ZADD', live, now + heal, id)
        out[#out + 1] = 'blocked'
        out[#out + 1] = jid
        break
      end
      -- A failed job keeps its sequence: recovered later, it is sent with it.
      ended = failed and 'failed' or true
    end
    if ended then
      redis.call('ZREM', q, head)
      if ended ~= 'failed' then redis.call('HDEL', s, jid) end
      if redis.call('HGET', s, 'r') == jid then redis.call('HDEL', s, 'r') end
      if redis.call('HGET', blocked, id) == jid then redis.call('HDEL', blocked, id) end
    else
      if redis.call('HGET', blocked, id) == jid then redis.call('HDEL', blocked, id) end
      if redis.call('HGET', s, 'r') == jid then
        local score = redis.call('ZSCORE', qp .. 'delayed', jid)
        if score and tonumber(score) >= parked * 4096 and mode ~= 'guard' then
          out[#out + 1] = 'promote'
          out[#out + 1] = jid
        end
        redis.call('ZADD', live, now + heal, id)
      elseif pos < wm then
        if not redis.call('HGET', s, jid) then
          redis.call('HSET', s, jid, redis.call('HINCRBY', s, 'n', 1))
        end
        redis.call('HSET', s, 'r', jid)
        redis.call('ZADD', live, now + heal, id)
        if mode ~= 'guard' or jid ~= tjid then
          out[#out + 1] = 'promote'
          out[#out + 1] = jid
        end
      else
        redis.call('ZADD', live, now + 1, id)
      end
      redis.call('EXPIRE', s, ttl)
      if mode == 'guard' and jid == tjid and redis.call('HGET', s, 'r') == jid then
        out[#out + 1] = 'go'
        out[#out + 1] = redis.call('HGET', s, jid)
      end
      break
    end
  end
end
return out
`;

/** WATERMARK. KEYS[1] the watermark; ARGV[1] a new one: kept only if higher (a late writer never lowers it). */
export const WATERMARK_LUA = `
local cur = redis.call('GET', KEYS[1])
if not cur or ARGV[1] > cur then redis.call('SET', KEYS[1], ARGV[1]) return ARGV[1] end
return cur
`;
