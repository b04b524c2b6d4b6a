// WSS_WAIT_REPLICAS: before the bridge acknowledges a batch, every connection that wrote its jobs,
// fair-share tags and dead letters waits (WAIT) until that many replicas of each master it wrote
// to have the writes. Replication is asynchronous: without this, a master killed after XACK
// reached its replica but before the jobs did loses those events for good. With it, a failover
// can lose only writes of batches not yet acknowledged, and those entries are read again.
import { WssError } from '../errors.js';
import { onEveryMaster, type RedisClient } from '../redis.js';

/** Fewer replicas than WSS_WAIT_REPLICAS acknowledged a batch's writes in time: it is not acknowledged. */
export class ReplicationLagError extends WssError {
  constructor(
    readonly acked: number,
    readonly wanted: number,
    timeoutMs: number,
  ) {
    super(
      'REPLICATION_LAG',
      `only ${acked} of ${wanted} replica(s) confirmed the batch's writes within ${timeoutMs} ms; the batch is read again`,
    );
  }
}

export interface WaitReplicas {
  replicas: number;
  timeoutMs: number;
}

/**
 * WAIT on each connection (each master's connection on a cluster: WAIT covers the writes made
 * on the connection it is sent on). A master that received nothing from it answers at once.
 * Returns the fewest replicas any of them confirmed; throws when that is below `want.replicas`.
 */
export async function waitForReplicas(clients: readonly RedisClient[], want: WaitReplicas): Promise<number> {
  const counts = (
    await Promise.all(
      clients.map((c) =>
        onEveryMaster(c, async (node) => Number(await node.call('WAIT', want.replicas, want.timeoutMs))),
      ),
    )
  ).flat();
  const acked = Math.min(...counts);
  if (acked < want.replicas) throw new ReplicationLagError(acked, want.replicas, want.timeoutMs);
  return acked;
}
