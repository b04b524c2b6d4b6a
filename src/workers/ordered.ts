// The worker's side of ordering keys (docs/ordering.md). Before an ordered job is sent: it must
// be its key's released head, else it goes back to the delayed set, parked (a job promoted by
// hand, or a duplicate release, never overtakes). After a job ends (completed, or failed for
// good): the next head of its key is released at once, the fast path (the bridge's pass heals a
// release lost to a crash).
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { orderingSkipped } from '../lib/metrics.js';
import type { DeliveryJobData } from '../queue/job.js';
import type { OrderingShard, OrderingStore } from '../queue/ordering-store.js';
import type { OrderingData } from '../queue/ordering.js';

export interface OrderedDeps {
  store: OrderingStore;
  /** The shard of a queue this worker consumes (its key base and the BullMQ worker, for promote). */
  shard(queueName: string): OrderingShard | undefined;
  log: Logger;
}

type Ordered = DeliveryJobData & { ordering: OrderingData };

const isOrdered = (data: DeliveryJobData): data is Ordered =>
  typeof data.ordering?.key === 'string' && typeof data.ordering.pos === 'string';

/**
 * The sequence to send with, `null` for an unordered job, or undefined: not the released head of
 * its key, to be parked again.
 */
export async function orderedSequence(
  o: OrderedDeps | undefined,
  job: { id?: string | undefined; queueName: string; data: DeliveryJobData },
): Promise<number | null | undefined> {
  if (o === undefined || !isOrdered(job.data)) return null;
  const shard = o.shard(job.queueName);
  if (shard === undefined) return null;
  const seq = await o.store.guard(shard, job.id!, job.data);
  if (seq === undefined) orderingSkipped.inc();
  return seq;
}

/** A job ended (BullMQ's completed / failed events): release its key's next head. Never throws. */
export function orderedEnded(o: OrderedDeps, job: { queueName: string; data: DeliveryJobData } | undefined): void {
  if (job === undefined || !isOrdered(job.data)) return;
  const shard = o.shard(job.queueName);
  if (shard === undefined) return;
  o.store
    .ended(shard, job.data)
    .catch((e: unknown) =>
      o.log.warn({ err: errorMessage(e) }, 'ordering: could not release the next event of a key (the bridge heals it)'),
    );
}
