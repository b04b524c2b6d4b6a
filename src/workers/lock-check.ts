// A job is POSTed only while this worker still holds its BullMQ lock: a job whose lock lapsed
// is handed to another worker by the stalled check, and sending it here as well is a duplicate.
// Checking the lock costs a Redis round trip, so it is only done when the lock may have lapsed:
// the connection dropped since the job was taken, Redis is unreachable right now, or the job
// has been held in-process longer than BullMQ's renewal keeps up with. On the hot path (a job
// taken moments ago on a connection that has stayed up) nothing is asked.

export interface LockFacts {
  /** Connection epoch (count of lost connections) when processing began, and now. */
  startEpoch: number;
  epoch: number;
  /** Whether the worker's Redis connection is up at this moment. */
  connected: boolean;
  /** When the lock was taken (BullMQ's job.processedOn, worker clock, ms); undefined if unknown. */
  lockedAt: number | undefined;
  now: number;
  lockDurationMs: number;
}

/**
 * True when the lock may have lapsed and must be confirmed (extended) before sending. A lock
 * lasts lockDuration from when the job was taken, so a job younger than a quarter of that, on a
 * connection that never dropped, holds a valid lock with a wide margin. An older one lives on
 * BullMQ's renewals (worker.ts sets lockRenewTime to lockDuration/4: every lockDuration/8 BullMQ
 * renews the locks last renewed more than lockDuration/8 ago), which only Redis can confirm.
 */
export function lockNeedsCheck(f: LockFacts): boolean {
  if (f.epoch !== f.startEpoch || !f.connected) return true;
  if (f.lockedAt === undefined) return true;
  return f.now - f.lockedAt > f.lockDurationMs / 4;
}

interface Connection {
  status: string;
  on(event: 'close' | '-node', listener: () => void): unknown;
}

/**
 * Counts the losses of one Redis connection; a job taken in an earlier epoch lived through one.
 * A cluster client stays up while one node goes: losing a node's connection ('-node', e.g. a
 * master killed before its failover) counts too.
 */
export class ConnectionEpochs {
  private lost = 0;

  constructor(private readonly connection: Connection) {
    const lose = () => {
      this.lost++;
    };
    connection.on('close', lose);
    connection.on('-node', lose);
  }

  get current(): number {
    return this.lost;
  }

  get connected(): boolean {
    return this.connection.status === 'ready';
  }
}
