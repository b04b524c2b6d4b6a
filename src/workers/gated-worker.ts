// One process's WSS_CONCURRENCY shared by the BullMQ Workers of all the queues it consumes (one
// per shard, plus old queues being drained). Each Worker may run up to the whole limit, and a
// process-wide set of permits decides who takes the next job.
//
// The permit is taken BEFORE a job is fetched (moveToActive), never after: a job taken first and
// then left waiting for a permit would sit 'active' under this process's lock — renewed, so it
// would not stall, but held back from other processes with free slots, out of its priority
// order, and counted as in flight. Here a Worker whose permit has not come simply fetches
// nothing yet. It waits for one only when every job it holds is running: BullMQ's main loop
// fetches a Worker's jobs one after another before starting any, so a Worker that waited while
// holding fetched jobs not yet started would never start them (deadlock). Holding such jobs, it
// reports "no job" at once, starts them, and waits on its next fetch. A job that comes back with
// a finished one (below) while its Worker waits ends that wait the same way.
//
// BullMQ's fetch-next-on-finish (the next job comes back in the same script that completes the
// finished one, one round trip instead of two) is kept: the finished job's permit passes to the
// next job of the same queue, unless a waiting Worker holds no permit at all or two fewer than
// this one; that one gets it instead. So busy shards share the permits about evenly, none is
// starved, and a permit changes hands only to even things out.
import { Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';

/** Who waits for permits: the Worker, with how many it holds. */
interface PermitHolder {
  readonly permitsHeld: number;
}

/** Counting semaphore; a released permit goes to the waiter holding the fewest (then the first). */
export class Permits {
  private free: number;
  private readonly waiters: Array<{ owner: PermitHolder | undefined; resolve: (ok: boolean) => void }> = [];
  private closed = false;

  constructor(readonly size: number) {
    this.free = size;
  }

  get inUse(): number {
    return this.size - this.free;
  }

  tryAcquire(): boolean {
    if (this.closed || this.free === 0) return false;
    this.free--;
    return true;
  }

  /** Resolves true with a permit, or false once closed (no permit then). */
  acquire(owner?: PermitHolder): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => this.waiters.push({ owner, resolve }));
  }

  /** True when another waiter holds no permit, or two fewer than `owner`: `owner` should let one go. */
  shouldHandOver(owner: PermitHolder): boolean {
    return this.waiters.some((w) => {
      const held = w.owner?.permitsHeld ?? 0;
      return w.owner !== owner && (held === 0 || held + 1 < owner.permitsHeld);
    });
  }

  release(): void {
    let best = -1;
    for (let i = 0; i < this.waiters.length; i++) {
      const held = this.waiters[i]!.owner?.permitsHeld ?? 0;
      if (best === -1 || held < (this.waiters[best]!.owner?.permitsHeld ?? 0)) best = i;
    }
    if (best === -1) {
      this.free = Math.min(this.size, this.free + 1);
      return;
    }
    this.waiters.splice(best, 1)[0]!.resolve(true);
  }

  /** Ends `owner`'s wait, if it waits: its acquire resolves false (it gets no permit). */
  cancel(owner: PermitHolder): void {
    const i = this.waiters.findIndex((w) => w.owner === owner);
    if (i !== -1) this.waiters.splice(i, 1)[0]!.resolve(false);
  }

  /** Stop handing out permits (shutdown); waiters get false. Releases still count. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.resolve(false);
  }
}

/**
 * A BullMQ Worker that holds a permit of `gate` for each job from fetch to finish. Created
 * stopped (autorun off, so no fetch happens before the fields below exist): call run().
 */
export class GatedWorker<D, R> extends Worker<D, R> implements PermitHolder {
  /** Tokens whose next fetch carries the finishing job's permit (see processJob). */
  private readonly prepaid = new Set<string>();
  /** Permits this Worker holds (jobs fetched or running). */
  private permitCount = 0;
  /** Jobs of this Worker in processJob. */
  private startedCount = 0;

  constructor(
    name: string,
    processor: Processor<D, R>,
    opts: WorkerOptions,
    private readonly gate: Permits,
  ) {
    super(name, processor, { ...opts, autorun: false });
  }

  get permitsHeld(): number {
    return this.permitCount;
  }

  private async take(): Promise<boolean> {
    const ok = this.permitCount > this.startedCount ? this.gate.tryAcquire() : await this.gate.acquire(this);
    if (ok) this.permitCount++;
    return ok;
  }

  private give(): void {
    this.permitCount--;
    this.gate.release();
  }

  protected override async moveToActive(token: string, name?: string): Promise<Job<D, R>> {
    const none = undefined as unknown as Job<D, R>;
    const paid = this.prepaid.delete(token);
    if (!paid && !(await this.take())) return none;
    if (!paid && this.closing) {
      this.give();
      return none;
    }
    let job: Job<D, R> | undefined;
    try {
      job = await super.moveToActive(token, name);
    } finally {
      if (!job) this.give();
    }
    return job;
  }

  override async processJob(
    job: Job<D, R>,
    token: string,
    fetchNextCallback: () => boolean = () => true,
  ): Promise<void | Job<D, R>> {
    this.startedCount++;
    let carried = false;
    const fetchNext = () => {
      if (carried) return true;
      if (!fetchNextCallback() || this.gate.shouldHandOver(this)) return false;
      carried = true;
      this.prepaid.add(token);
      return true;
    };
    let next: void | Job<D, R> = undefined;
    try {
      next = await super.processJob(job, token, fetchNext);
      return next;
    } finally {
      this.startedCount--;
      const unspent = this.prepaid.delete(token);
      // Not carried: released here. Carried and still unspent: the next job came back with the
      // finish (keeps it) or did not come (released). Spent by moveToActive: handled there.
      if (!carried || (unspent && !next)) this.give();
      // A next job came back, not yet started: this Worker's fetch must not sit waiting for a
      // permit meanwhile (its main loop starts the job only after that fetch returns).
      if (next) this.gate.cancel(this);
    }
  }
}
