// WSS_WAIT_REPLICAS: before the bridge acknowledges a batch, every connection that wrote its
// jobs, fair-share tags and dead letters waits (WAIT) until that many replicas of each master it
// wrote to have the writes. Replication is asynchronous: without this, a master killed after the
// stream entry's XACK but before its replica got the jobs loses those events for good. With it,
// a failover can lose only writes of batches not yet acknowledged, and those entries are read
// again.
//
// A master with fewer replicas connected than asked (just after a failover its replica is the
// new master, with none of its own) cannot confirm more: WAIT then asks only for the replicas it
// has, so the bridge goes on instead of stalling, and says so (a warning, a counter).
import type { Redis } from 'ioredis';
import type { Logger } from '../lib/log.js';
import { replicationShort } from '../lib/metrics.js';
import { onEveryMaster, type RedisClient } from '../redis/client.js';

interface WaitReplicas {
  replicas: number;
  timeoutMs: number;
}

/** How long a master's count of connected replicas (INFO replication) is trusted. */
const REPLICAS_TTL_MS = 2_000;
const WARN_EVERY_MS = 10_000;

/** `connected_slaves` of INFO replication. */
export function connectedReplicas(info: string): number {
  const m = /^connected_slaves:(\d+)/m.exec(info);
  return m ? Number(m[1]) : 0;
}

interface WaitOutcome {
  /** The fewest replicas any written-to master confirmed. */
  acked: number;
  /** True when some master had fewer replicas connected than asked. */
  short: boolean;
}

export class ReplicaWaiter {
  private readonly replicas = new Map<string, { count: number; at: number }>();
  private warnedAt = -Infinity;

  constructor(
    private readonly want: WaitReplicas,
    private readonly now: () => number,
    private readonly log?: Logger,
  ) {}

  /**
   * WAIT on each connection (each master's connection on a cluster: WAIT covers the writes made
   * on the connection it is sent on; a master that received nothing from it answers at once).
   */
  async wait(clients: readonly RedisClient[]): Promise<WaitOutcome> {
    const outcomes = (await Promise.all(clients.map((c) => onEveryMaster(c, (node) => this.waitOn(node))))).flat();
    const acked = Math.min(...outcomes.map((o) => o.acked));
    const short = outcomes.some((o) => o.short);
    if (short) {
      replicationShort.inc();
      if (this.now() - this.warnedAt >= WARN_EVERY_MS) {
        this.warnedAt = this.now();
        this.log?.warn(
          { wanted: this.want.replicas, acked },
          'bridge: fewer replicas than WSS_WAIT_REPLICAS confirmed a batch (a master lacks replicas); acknowledged anyway',
        );
      }
    }
    return { acked, short };
  }

  private async waitOn(node: Redis): Promise<WaitOutcome> {
    const connected = await this.connectedOf(node);
    const ask = Math.min(this.want.replicas, connected);
    const acked = ask === 0 ? 0 : Number(await node.call('WAIT', ask, this.want.timeoutMs));
    // A replica that dropped since INFO was read: look again next time.
    if (acked < ask) this.replicas.delete(nodeKey(node));
    return { acked, short: acked < this.want.replicas };
  }

  private async connectedOf(node: Redis): Promise<number> {
    const key = nodeKey(node);
    const cached = this.replicas.get(key);
    if (cached && this.now() - cached.at < REPLICAS_TTL_MS) return cached.count;
    const count = connectedReplicas(String(await node.call('INFO', 'replication')));
    this.replicas.set(key, { count, at: this.now() });
    return count;
  }
}

function nodeKey(node: Redis): string {
  return `${node.options.host ?? ''}:${node.options.port ?? ''}`;
}
