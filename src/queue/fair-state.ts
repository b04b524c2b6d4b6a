// The fair-share state in Redis, shared by every bridge, one per delivery queue (shard): its keys
// carry the queue's hash tag, so every script below stays in the queue's slot. The virtual time
// and base in one hash, the flows' finish tags in another. Read once per batch (readFairState), written after the
// batch's jobs exist (writeFairState, max-merged so bridges never move a tag back), and rebased
// when the queue's priorities near BullMQ's limit. Callers go through fair-queues.ts; see
// fair-share.ts and docs/isolation.md.
import type { RedisClient } from '../redis/client.js';
import { queueKeyBase } from './delivery-queues.js';
import { flowField, PRIORITY_LIMIT, REBASE_AT, virtualTime, type FairPlan, type FairState } from './fair-share.js';

export interface FairKeys {
  clock: string;
  flows: string;
  prioritized: string;
  delayed: string;
  active: string;
  /** BullMQ's job hash prefix: `<prefix>:deliveries:`. */
  jobPrefix: string;
}

/** The fair-share keys of one delivery queue; the legacy queue's are `<prefix>:fair:*`. */
export function fairKeys(prefix: string, queueName: string): FairKeys {
  const q = `${prefix}:${queueName}:`;
  const base = queueKeyBase(prefix, queueName);
  return {
    clock: `${base}:fair:clock`,
    flows: `${base}:fair:flows`,
    prioritized: `${q}prioritized`,
    delayed: `${q}delayed`,
    active: `${q}active`,
    jobPrefix: q,
  };
}

export async function readFairState(redis: RedisClient, keys: FairKeys, fields: readonly string[]): Promise<FairState> {
  const p = redis.pipeline();
  p.hmget(keys.clock, 'vt', 'base');
  p.zrange(keys.prioritized, '0', '0', 'WITHSCORES');
  if (fields.length > 0) p.hmget(keys.flows, ...fields);
  const res = (await p.exec()) ?? [];
  const failed = res.find(([err]) => err);
  if (failed) throw failed[0] as Error;
  const [vtText, baseText] = res[0]![1] as Array<string | null>;
  const head = res[1]![1] as string[];
  const values = fields.length > 0 ? (res[2]![1] as Array<string | null>) : [];
  const base = Number(baseText ?? 0);
  const tags = new Map<string, number>();
  fields.forEach((f, i) => {
    const v = values[i];
    if (v !== null && v !== undefined) tags.set(f, Number(v));
  });
  return { vt: virtualTime(Number(vtText ?? 0), base, head.length === 2 ? Number(head[1]) : undefined), base, tags };
}

/**
 * How far each flow's finish tag is ahead of the virtual time: its queued jobs, in rounds (a
 * tenant with one busy endpoint: that endpoint's queued jobs; with several, their sum). A queue
 * with nothing prioritized has no lag (its stored virtual time may be stale). Hold-back reads it.
 */
export async function readFlowLags(
  redis: RedisClient,
  keys: FairKeys,
  fields: readonly string[],
): Promise<Map<string, number>> {
  const p = redis.pipeline();
  p.hmget(keys.clock, 'vt', 'base');
  p.zrange(keys.prioritized, '0', '0', 'WITHSCORES');
  p.hmget(keys.flows, ...fields);
  const res = (await p.exec()) ?? [];
  const failed = res.find(([err]) => err);
  if (failed) throw failed[0] as Error;
  const lags = new Map<string, number>();
  const head = res[1]![1] as string[];
  if (head.length < 2) return lags;
  const [vtText, baseText] = res[0]![1] as Array<string | null>;
  const vt = virtualTime(Number(vtText ?? 0), Number(baseText ?? 0), Number(head[1]));
  const tags = res[2]![1] as Array<string | null>;
  fields.forEach((f, i) => {
    const lag = Number(tags[i] ?? 0) - vt;
    if (lag > 0) lags.set(f, lag);
  });
  return lags;
}

// Moves job ids' priorities down by ARGV[2] (in the prioritized set, their score keeps its
// insertion counter; delayed and active jobs keep it in their hash for when they come back).
const SHIFT_JOB = `
local function shiftJob(jobPrefix, prioritized, id, d)
  local jk = jobPrefix .. id
  local p = tonumber(redis.call('HGET', jk, 'priority') or '0') or 0
  if p <= 0 then return end
  local np = math.max(1, p - d)
  redis.call('HSET', jk, 'priority', np)
  local s = redis.call('ZSCORE', prioritized, id)
  if s then
    local score = tonumber(s)
    local counter = score - math.floor(score / 4294967296) * 4294967296
    redis.call('ZADD', prioritized, np * 4294967296 + counter, id)
  end
end
`;

// KEYS: clock, flows. ARGV: vt, n, then n field/tag pairs. Returns the base now in force.
const WRITE = `
local vt = tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'vt') or '0') or 0
if vt > cur then redis.call('HSET', KEYS[1], 'vt', vt) end
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  local f = ARGV[3 + 2 * i]
  local v = tonumber(ARGV[4 + 2 * i])
  local old = tonumber(redis.call('HGET', KEYS[2], f) or '0') or 0
  if v > old then redis.call('HSET', KEYS[2], f, v) end
end
return redis.call('HGET', KEYS[1], 'base') or '0'
`;

// KEYS: prioritized, jobs' hash prefix in ARGV[1]; ARGV[2]: shift; ARGV[3..]: job ids.
const SHIFT_IDS = `${SHIFT_JOB}
local d = tonumber(ARGV[2])
for i = 3, #ARGV do shiftJob(ARGV[1], KEYS[1], ARGV[i], d) end
return 0
`;

// KEYS: clock, flows, prioritized, delayed, active. ARGV: job prefix, threshold. Atomic: every
// queued job's priority moves down by the same amount, so their order is kept; flows whose tag
// is behind the virtual time are idle and dropped. Returns the shift (0: not needed).
const REBASE = `${SHIFT_JOB}
local vt = tonumber(redis.call('HGET', KEYS[1], 'vt') or '0') or 0
local base = tonumber(redis.call('HGET', KEYS[1], 'base') or '0') or 0
local d = math.floor(vt - base)
if d < tonumber(ARGV[2]) then return 0 end
-- Prioritized jobs: the priority is in the score, so one HSET per job and ZADDs in bulk.
local items = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
local bulk = {}
for i = 1, #items, 2 do
  local score = tonumber(items[i + 1])
  local p = math.floor(score / 4294967296)
  local np = math.max(1, p - d)
  redis.call('HSET', ARGV[1] .. items[i], 'priority', np)
  bulk[#bulk + 1] = np * 4294967296 + (score - p * 4294967296)
  bulk[#bulk + 1] = items[i]
  if #bulk >= 1000 then
    redis.call('ZADD', KEYS[3], unpack(bulk))
    bulk = {}
  end
end
if #bulk > 0 then redis.call('ZADD', KEYS[3], unpack(bulk)) end
for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do shiftJob(ARGV[1], KEYS[3], id, d) end
for _, id in ipairs(redis.call('LRANGE', KEYS[5], 0, -1)) do shiftJob(ARGV[1], KEYS[3], id, d) end
redis.call('HSET', KEYS[1], 'base', base + d)
local flows = redis.call('HGETALL', KEYS[2])
for i = 1, #flows, 2 do
  if tonumber(flows[i + 1]) <= vt then redis.call('HDEL', KEYS[2], flows[i]) end
end
return d
`;

/**
 * After the batch's jobs were added: max-merge the finish tags and the virtual time. A rebase
 * by another bridge between this batch's read and now left these jobs' priorities one shift too
 * high: they are moved down by it here. Then rebase if the head has reached the threshold.
 */
export async function writeFairState(
  redis: RedisClient,
  keys: FairKeys,
  plan: FairPlan,
  rebaseAt = REBASE_AT,
): Promise<number> {
  const pairs = [...plan.tags].flatMap(([f, v]) => [f, String(v)]);
  const base = Number(
    await redis.eval(WRITE, 2, keys.clock, keys.flows, String(plan.vt), String(plan.tags.size), ...pairs),
  );
  if (base !== plan.base && plan.jobs.length > 0) {
    await redis.eval(
      SHIFT_IDS,
      1,
      keys.prioritized,
      keys.jobPrefix,
      String(base - plan.base),
      ...plan.jobs.map((j) => j.opts.jobId),
    );
  }
  return plan.vt - base >= rebaseAt ? rebase(redis, keys, rebaseAt) : 0;
}

// KEYS: clock, flows, prioritized, the job's hash. ARGV: the flow's field, the priority limit.
// The virtual time as readFairState computes it; the job starts after its flow's queued jobs
// and the flow is charged one job.
const RETAG = `
local vt = tonumber(redis.call('HGET', KEYS[1], 'vt') or '0') or 0
local base = tonumber(redis.call('HGET', KEYS[1], 'base') or '0') or 0
local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if head[2] then vt = math.max(vt, base + math.floor(tonumber(head[2]) / 4294967296) - 1) end
if (tonumber(redis.call('HGET', KEYS[4], 'priority') or '0') or 0) <= 0 then return 0 end
local start = math.max(vt, tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') or 0)
redis.call('HSET', KEYS[2], ARGV[1], start + 1)
local p = math.min(tonumber(ARGV[2]), math.max(1, math.floor(start - base) + 1))
redis.call('HSET', KEYS[4], 'priority', p)
return p
`;

/**
 * A job about to be retried gets a fresh start tag: behind its flow's queued jobs, charged to
 * the flow, so a failing endpoint's retries queue behind its own backlog instead of returning
 * to the head of the queue ahead of every other tenant. BullMQ reads the job hash's priority
 * when the retry leaves the delayed set. Jobs without a priority (added before fair share, or
 * test events) are left alone. Returns the new priority (0: none).
 */
export async function retagJob(
  redis: RedisClient,
  keys: FairKeys,
  job: { id: string; tenant: string; endpoint: string },
): Promise<number> {
  return Number(
    await redis.eval(
      RETAG,
      4,
      keys.clock,
      keys.flows,
      keys.prioritized,
      keys.jobPrefix + job.id,
      flowField(job.tenant, job.endpoint),
      String(PRIORITY_LIMIT),
    ),
  );
}

/** Shifts every queued priority down once the head's priority reaches `rebaseAt`; returns the shift. */
export async function rebase(redis: RedisClient, keys: FairKeys, rebaseAt = REBASE_AT): Promise<number> {
  return Number(
    await redis.eval(
      REBASE,
      5,
      keys.clock,
      keys.flows,
      keys.prioritized,
      keys.delayed,
      keys.active,
      keys.jobPrefix,
      String(rebaseAt),
    ),
  );
}
