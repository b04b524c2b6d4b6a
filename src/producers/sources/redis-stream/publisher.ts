// Publishing to the Redis Stream: one XADD on the service's own connection.
import type { RedisClient } from '../../../redis/client.js';
import type { EventPublisher } from '../source.js';

/**
 * XADD without MAXLEN: a length cap would trim entries no bridge has acknowledged yet (the
 * bridge trims safely itself). Returns the stream entry id.
 */
export function streamPublisher(redis: RedisClient, stream: string): EventPublisher {
  return {
    async publish(fields) {
      const id = await redis.xadd(stream, '*', ...Object.entries(fields).flat());
      if (id === null) throw new Error(`XADD to ${stream} returned no id`);
      return id;
    },
    close: async () => {},
  };
}
