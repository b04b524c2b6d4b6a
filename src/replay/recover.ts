// Bulk recover: every failed delivery of one endpoint since a time goes back to the queue. BullMQ
// keeps failed jobs (removeOnFail: false) in the failed set, scored by the time they failed; the
// job ids of an endpoint start with `<tenant>.<endpoint>.`. job.retry moves each one back to
// waiting with its data untouched (the same body and event id); the worker signs every attempt
// afresh. A retried job leaves the failed set in the same script that re-queues it, so running
// recover twice, or two recovers at once, queues nothing twice. Each job is re-tagged for fair
// share first, as the worker does before a retry.
import { Job } from 'bullmq';
import { errorMessage } from '../lib/errors.js';
import { deliveryJobId, endpointJobIds, type DeliveryQueue } from '../queue/job.js';
import { retagForRetry } from '../queue/fair-queues.js';
import type { RedisClient } from '../redis/client.js';

const PAGE = 1_000;
const RETRIES_IN_FLIGHT = 20;
/** How many job ids an answer lists. */
export const LISTED_IDS = 20;

export interface RecoverRequest {
  tenant: string;
  endpoint: string;
  sinceMs: number;
  dryRun: boolean;
  /** Only this event's delivery (and its replays' deliveries). */
  eventId?: string;
}

export interface RecoverResult {
  /** Failed deliveries of the endpoint since the time (what a dry run would put back). */
  failed: number;
  /** Put back to waiting (0 on a dry run). */
  recovered: number;
  /** Left the failed set between listing and retrying (recovered or cleaned by someone else). */
  skipped: number;
  /** The first LISTED_IDS job ids, oldest failure first. */
  jobIds: string[];
}

/**
 * The ids of the endpoint's jobs that failed at or after `sinceMs`, oldest first. With an
 * eventId, exactly that event's delivery and its replays': a replay's id is the event's id plus
 * `.r<replay id>`, which another event's id may also look like (`evt-1.rother`), so such a
 * candidate is kept only when its job data names the event.
 */
export async function failedSince(
  redis: RedisClient,
  failedKey: string,
  req: Pick<RecoverRequest, 'tenant' | 'endpoint' | 'sinceMs' | 'eventId'>,
): Promise<string[]> {
  const wanted = endpointJobIds(req.tenant, req.endpoint, req.eventId);
  const ids: string[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await redis.zrangebyscore(failedKey, req.sinceMs, '+inf', 'LIMIT', offset, PAGE);
    for (const id of page) if (wanted(id)) ids.push(id);
    if (page.length < PAGE) break;
  }
  if (req.eventId === undefined) return ids;
  // The job hashes sit beside the failed set: `<prefix>:<queue>:<job id>`.
  const jobKey = (id: string) => `${failedKey.slice(0, -'failed'.length)}${id}`;
  const mine = deliveryJobId(req.eventId, req.tenant, req.endpoint);
  const replays = ids.filter((id) => id !== mine);
  const data = await Promise.all(replays.map((id) => redis.hget(jobKey(id), 'data')));
  const foreign = new Set(replays.filter((_, i) => eventIdOf(data[i] ?? null) !== req.eventId));
  return ids.filter((id) => !foreign.has(id));
}

function eventIdOf(json: string | null): string | undefined {
  try {
    return (JSON.parse(json ?? 'null') as { eventId?: string } | null)?.eventId;
  } catch {
    return undefined;
  }
}

export async function recoverFailed(
  redis: RedisClient,
  queue: DeliveryQueue,
  req: RecoverRequest,
): Promise<RecoverResult> {
  const ids = await failedSince(redis, queue.toKey('failed'), req);
  const result: RecoverResult = { failed: ids.length, recovered: 0, skipped: 0, jobIds: ids.slice(0, LISTED_IDS) };
  if (req.dryRun) return result;
  for (let i = 0; i < ids.length; i += RETRIES_IN_FLIGHT) {
    const outcomes = await Promise.all(
      ids.slice(i, i + RETRIES_IN_FLIGHT).map((id) => retryOne(redis, queue, id, req)),
    );
    for (const ok of outcomes) {
      if (ok) result.recovered++;
      else result.skipped++;
    }
  }
  return result;
}

/** False when the job is gone or no longer failed; any other error is thrown. */
async function retryOne(
  redis: RedisClient,
  queue: DeliveryQueue,
  id: string,
  at: Pick<RecoverRequest, 'tenant' | 'endpoint'>,
): Promise<boolean> {
  const job = await Job.fromId(queue, id);
  if (!job) return false;
  // The priority it had when it last queued is long behind the queue's head: as the worker does
  // for a retry, it gets a fresh start tag behind its own flow, so a bulk recover takes the
  // endpoint's fair share instead of jumping ahead of every tenant. (A no-op for a job without a
  // priority; harmless if the retry below then finds it gone.)
  await retagForRetry(redis, queue.opts.prefix ?? 'bull', queue.name, { id, tenant: at.tenant, endpoint: at.endpoint });
  try {
    await job.retry('failed');
    return true;
  } catch (err) {
    // reprocessJob's -1 (missing) and -3 (not in the failed set): someone else moved it first.
    if (/not in the failed state|does not exist|Missing key|not found/i.test(errorMessage(err))) return false;
    throw err;
  }
}
