import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAME, type DeliveryJobData } from './job.js';

export type DeliveryQueue = Queue<DeliveryJobData>;

export function createDeliveryQueue(connection: Redis, prefix: string): DeliveryQueue {
  return new Queue<DeliveryJobData>(QUEUE_NAME, { connection, prefix });
}
