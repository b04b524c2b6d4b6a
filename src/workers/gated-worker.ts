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
// reports "no job" at once, starts them, and waits on its next fetch. BullMQ's fetch-next-on-finish (the next job comes back in the same script that
// completes the finished one) is kept: the finished job's permit passes to the next one, unless
// another queue's Worker is waiting for a permit, which then gets it (no shard starves another).
import { Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';

/** Counting semaphore; waiters are served in arrival order. */
export class Permits {
  private free: number;
  private readonly waiters: Array<{ owner: unknown; resolve: (ok: boolean) => void }> = [];
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
  acquire(owner?: unknown): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => this.waiters.push({ owner, resolve }));
  }

  /** True when someone other than `owner` waits for a permit. */
  othersWaiting(owner: unknown): boolean {
    return this.waiters.some((w) => w.owner !== owner);
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next.resolve(true);
    else this.free = Math.min(this.size, this.free + 1);
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
export class GatedWorker<D, R> extends Worker<D, R> {
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
      if (!fetchNextCallback() || this.gate.othersWaiting(this)) return false;
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
    }
  }
}
