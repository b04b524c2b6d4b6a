// Per-endpoint in-flight cap for one worker process (issue 4's slow endpoint): without it, a
// receiver that takes 10 s per request soon holds every one of the worker's slots and all
// other tenants wait behind it. A job over the cap is put back in the delayed set for a
// moment without consuming an attempt (see worker.ts). The cap is per process, not global:
// N worker replicas allow N × cap in flight to one endpoint, which keeps this free of Redis.

export class EndpointSlots {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly cap: number) {}

  /** Takes a slot for `key`, or returns false when the endpoint already has `cap` in flight. */
  tryAcquire(key: string): boolean {
    const n = this.inFlight.get(key) ?? 0;
    if (n >= this.cap) return false;
    this.inFlight.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = this.inFlight.get(key) ?? 0;
    if (n <= 1) this.inFlight.delete(key);
    else this.inFlight.set(key, n - 1);
  }

  count(key: string): number {
    return this.inFlight.get(key) ?? 0;
  }
}

/** How long a deferred job waits before it is offered again: short, jittered so they do not return in a herd. */
export function deferDelayMs(random: number): number {
  return 200 + Math.floor(random * 300);
}
