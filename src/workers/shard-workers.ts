// The queues one worker process consumes: its layout's shards (all, or those WSS_WORKER_SHARDS
// pins), plus every queue of another layout that still holds jobs (found every
// WSS_QUEUE_SCAN_MS). One BullMQ Worker per queue, all behind one set of permits of
// WSS_CONCURRENCY (gated-worker.ts), so the process's concurrency is shared, not multiplied.
import { errorMessage } from '../lib/errors.js';
import { PENDING_STATES, type DeliveryQueues, type QueueRef } from '../queue/delivery-queues.js';
import type { Logger } from '../lib/log.js';
import { Permits } from './gated-worker.js';

/** What this needs of a Worker. */
interface QueueConsumer {
  run(): Promise<void>;
  close(): Promise<void>;
  isRunning(): boolean;
}

interface ShardWorkersOptions<W extends QueueConsumer> {
  queues: DeliveryQueues;
  /** 0-based shards to consume; undefined: all of them. */
  pinned: readonly number[] | undefined;
  concurrency: number;
  scanMs: number;
  /** A stopped Worker on `ref`'s queue, taking its permits from `gate`. */
  create(ref: QueueRef, gate: Permits): W;
  log: Logger;
}

export class ShardWorkers<W extends QueueConsumer> {
  readonly gate: Permits;
  private readonly running = new Map<string, W>();
  /** Workers of drained foreign queues, still finishing. */
  private readonly retiring = new Set<Promise<void>>();
  private readonly own: QueueRef[];
  private scanning: NodeJS.Timeout | undefined;
  private scan: Promise<unknown> = Promise.resolve();
  private closing = false;

  constructor(private readonly o: ShardWorkersOptions<W>) {
    this.gate = new Permits(o.concurrency);
    const pinned = o.pinned;
    this.own = o.queues.current.filter((r) => pinned === undefined || pinned.includes(r.shard!));
  }

  /** The names of the queues consumed now. */
  names(): string[] {
    return [...this.running.keys()];
  }

  workers(): W[] {
    return [...this.running.values()];
  }

  /** This process's own shards (not the foreign queues it drains). */
  ownWorkers(): W[] {
    return this.own.map((r) => this.running.get(r.name)!).filter((w) => w !== undefined);
  }

  private startOne(ref: QueueRef): void {
    const w = this.o.create(ref, this.gate);
    this.running.set(ref.name, w);
    w.run().catch((err: unknown) =>
      this.o.log.error({ queue: ref.name, err: errorMessage(err) }, 'worker: queue consumer stopped on an error'),
    );
  }

  /**
   * Starts this process's shards at once; records the layout and looks for other layouts' queues
   * in the background (now, then every scanMs), so a Redis that is down does not hold start-up.
   */
  start(): void {
    for (const r of this.own) this.startOne(r);
    let registered = false;
    const tick = () => {
      this.scan = (async () => {
        if (!registered) await this.o.queues.register();
        registered = true;
        await this.rescan();
      })()
        .catch((err: unknown) =>
          this.o.log.warn({ err: errorMessage(err) }, 'worker: could not look for queues of other layouts'),
        )
        .finally(() => {
          if (!this.closing) this.scanning = setTimeout(tick, this.o.scanMs).unref();
        });
    };
    tick();
  }

  /** Starts consuming foreign queues with work left, stops consuming those drained. */
  private async rescan(): Promise<void> {
    if (this.closing) return;
    const busy = await this.o.queues.foreignWith(PENDING_STATES);
    if (this.closing) return;
    for (const ref of busy) {
      if (this.running.has(ref.name)) continue;
      this.o.log.info({ queue: ref.name }, 'worker: draining a delivery queue of another WSS_SHARDS');
      this.startOne(ref);
    }
    const busyNames = new Set(busy.map((r) => r.name));
    const ownNames = new Set(this.own.map((r) => r.name));
    for (const [name, w] of this.running) {
      if (ownNames.has(name) || busyNames.has(name)) continue;
      this.running.delete(name);
      this.o.log.info({ queue: name }, 'worker: queue of another WSS_SHARDS drained');
      // Not awaited here: its fetch may wait for a permit until a delivery elsewhere ends.
      const closing = w.close().catch(() => undefined);
      this.retiring.add(closing);
      void closing.then(() => this.retiring.delete(closing));
    }
  }

  /**
   * Closes every Worker (each finishes its jobs in hand) and stops handing out permits. In that
   * order: a Worker marked closing treats a refused permit as the end, not as "try again".
   */
  close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.scanning);
    const closing = this.workers().map((w) => w.close());
    this.gate.close();
    return Promise.all([...closing, ...this.retiring]).then(() => undefined);
  }
}
