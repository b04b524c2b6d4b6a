// The one delivery queue of the default layout (WSS_SHARDS=1 on one Redis), for suites that
// look at it directly. Sharded layouts: DeliveryQueues (src/queue/delivery-queues.ts).
import { Queue } from 'bullmq';
import type { DeliveryJobData, DeliveryQueue } from '../../src/queue/job.js';
import type { RedisClient } from '../../src/redis/client.js';
import { BASE_QUEUE_NAME } from '../../src/redis/shards.js';

export const QUEUE_NAME = BASE_QUEUE_NAME;

export function createDeliveryQueue(connection: RedisClient, prefix: string): DeliveryQueue {
  const queue = new Queue<DeliveryJobData>(QUEUE_NAME, { connection, prefix });
  queue.on('error', () => {});
  return queue;
}
