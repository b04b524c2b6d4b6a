// The delivery queue of an endpoint's shard (src/shards.ts), opened on first use and kept for
// the life of the caller: recover and replay write to whichever shards their endpoints live in.
import { Queue } from 'bullmq';
import type { DeliveryJobData, DeliveryQueue } from '../job.js';
import type { RedisClient } from '../redis.js';
import { shardOf, shardQueueName, type ShardLayout } from '../shards.js';

export class ShardQueues {
  private readonly open = new Map<string, DeliveryQueue>();

  constructor(
    private readonly connection: RedisClient,
    private readonly prefix: string,
    private readonly layout: ShardLayout,
  ) {}

  nameOf(tenant: string, endpoint: string): string {
    return shardQueueName(this.layout, shardOf(tenant, endpoint, this.layout.count));
  }

  byName(name: string): DeliveryQueue {
    let q = this.open.get(name);
    if (!q) {
      q = new Queue<DeliveryJobData>(name, { connection: this.connection, prefix: this.prefix });
      // The shared connection reports outages itself; without a listener BullMQ prints them.
      q.on('error', () => {});
      this.open.set(name, q);
    }
    return q;
  }

  of(tenant: string, endpoint: string): DeliveryQueue {
    return this.byName(this.nameOf(tenant, endpoint));
  }

  async close(): Promise<void> {
    const queues = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(queues.map((q) => q.close()));
  }
}
