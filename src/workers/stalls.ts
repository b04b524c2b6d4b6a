// Stalls made visible. A job stalls when its worker died (or lost the lock) mid-attempt: the
// stalled check of a live worker returns it to the queue without spending an attempt. After
// more than WSS_MAX_STALLED_COUNT stalls BullMQ fails it instead, with no attempt of ours
// involved, so without this nothing would say so in the logs.
import type { Job, Worker } from 'bullmq';
import { errorMessage } from '../lib/errors.js';
import type { DeliveryJobData, DeliveryResult } from '../queue/job.js';
import type { Logger } from '../lib/log.js';
import { jobsFailedStalled, jobsStalled, seriesOf } from '../lib/metrics.js';

/** BullMQ's failedReason for a job that stalled more than maxStalledCount times. */
const STALLED_FAILURE = 'job stalled more than allowable limit';

export function reportStalls(
  worker: Worker<DeliveryJobData, DeliveryResult>,
  log: Logger,
  maxStalledCount: number,
): void {
  worker.on('stalled', (jobId: string) => {
    jobsStalled.inc();
    // The job id (`<tenant>.<endpoint>.<eventId>`, queue/job.ts) names the delivery; the job
    // itself is not read here (no extra round trip).
    log.warn(
      { jobId },
      'job stalled (its worker died or lost the lock): returned to the queue without spending an attempt',
    );
  });
  worker.on('failed', (job: Job<DeliveryJobData, DeliveryResult> | undefined, err: Error) => {
    if (!job || err.message !== STALLED_FAILURE) return;
    const { tenant, endpoint, eventId } = job.data;
    jobsFailedStalled.inc(seriesOf(tenant, endpoint));
    log.warn(
      {
        tenant,
        endpoint,
        eventId,
        stalled: job.stalledCounter,
        maxStalledCount,
        attemptsMade: job.attemptsMade,
        outcome: 'failed',
        code: 'STALLED',
      },
      'delivery failed: its job stalled more than WSS_MAX_STALLED_COUNT times (workers kept dying while holding it)',
    );
    void job
      .log(
        `failed: stalled ${job.stalledCounter} times, more than WSS_MAX_STALLED_COUNT (${maxStalledCount}); retry it from the failed set`,
      )
      .catch((e: unknown) => log.warn({ tenant, endpoint, eventId, err: errorMessage(e) }, 'job.log failed'));
  });
}
