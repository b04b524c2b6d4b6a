// Per-endpoint in-flight cap for one worker process. Without it, a receiver that takes 5 s per
// request soon holds every worker slot and all other tenants wait behind it.
//
// A job over its endpoint's cap either waits here briefly (when a slot should free up within
// maxWaitMs: the common case for a busy but fast endpoint) or goes back to BullMQ's delayed set
// without using an attempt. Deferred jobs of one endpoint are spaced along a per-endpoint line,
// one every (service time / cap), so a slow endpoint's backlog comes back about when it can be
// served instead of cycling through Redis every few hundred ms; the line never reaches further
// than maxDeferMs ahead. The cap is per process: N replicas allow N × cap to one endpoint.

export interface SlotOptions {
  cap: number;
  /** Longest in-process wait for a slot before deferring. */
  maxWaitMs: number;
  minDeferMs: number;
  maxDeferMs: number;
  now: () => number;
  random: () => number;
}

interface EndpointState {
  inFlight: number;
  /** Sum of the start times of the requests in flight (for their average age). */
  startSum: number;
  /** Smoothed service time of finished requests, ms. */
  serviceMs: number | undefined;
  waiters: Array<() => void>;
  /** The due time of the last job deferred for this endpoint. */
  lineUntil: number;
}

/** A slot (true) or the delay in ms after which the job should be offered again. */
type SlotResult = true | number;

export class EndpointSlots {
  private readonly state = new Map<string, EndpointState>();

  constructor(private readonly o: SlotOptions) {}

  private get(key: string): EndpointState {
    let s = this.state.get(key);
    if (!s) {
      s = { inFlight: 0, startSum: 0, serviceMs: undefined, waiters: [], lineUntil: 0 };
      this.state.set(key, s);
    }
    return s;
  }

  private take(s: EndpointState): void {
    s.inFlight++;
    s.startSum += this.o.now();
  }

  /** Service time estimate: the smoothed past, or the age of what is in flight if longer. */
  private serviceMs(s: EndpointState): number {
    const age = s.inFlight > 0 ? this.o.now() - s.startSum / s.inFlight : 0;
    return Math.max(s.serviceMs ?? 0, age);
  }

  private deferMs(s: EndpointState): number {
    const now = this.o.now();
    const spacing = this.serviceMs(s) / this.o.cap;
    const due = Math.min(
      Math.max(now + this.o.minDeferMs, Math.max(s.lineUntil, now) + spacing),
      now + this.o.maxDeferMs,
    );
    s.lineUntil = due;
    // Up to 10 % jitter so replicas' deferred jobs do not return in step.
    return Math.round((due - now) * (1 + this.o.random() * 0.1));
  }

  acquire(key: string): SlotResult | Promise<SlotResult> {
    const s = this.get(key);
    if (s.inFlight < this.o.cap) {
      this.take(s);
      return true;
    }
    const expectedWait = (this.serviceMs(s) * (s.waiters.length + 1)) / this.o.cap;
    if (expectedWait > this.o.maxWaitMs) return this.deferMs(s);
    return new Promise<SlotResult>((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        this.take(s);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = s.waiters.indexOf(waiter);
        if (i !== -1) s.waiters.splice(i, 1);
        resolve(this.deferMs(s));
      }, this.o.maxWaitMs);
      s.waiters.push(waiter);
    });
  }

  /** `heldMs`: how long the slot was held (feeds the service-time estimate). */
  release(key: string, heldMs: number): void {
    const s = this.state.get(key);
    if (!s || s.inFlight === 0) return;
    s.inFlight--;
    s.startSum -= this.o.now() - heldMs;
    s.serviceMs = s.serviceMs === undefined ? heldMs : s.serviceMs * 0.8 + heldMs * 0.2;
    const next = s.waiters.shift();
    if (next) next();
    else if (s.inFlight === 0 && s.lineUntil <= this.o.now()) this.state.delete(key);
  }

  count(key: string): number {
    return this.state.get(key)?.inFlight ?? 0;
  }
}
