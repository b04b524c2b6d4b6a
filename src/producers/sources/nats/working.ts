// Keeping a batch in hand while the bridge retries it (Source.keep): JetStream delivers a message
// again once its ack wait passes without an acknowledgement, so the messages a bridge holds are
// told "still working" (+WPI, what msg.working() sends: the ack wait starts again, no delivery is
// counted) at keep() and then every third of the ack wait, for a window after each keep(). The
// bridge calls keep() before every retry (its back-off is at most 5 s), so a bridge that keeps
// retrying keeps its messages; one that stops calling (hung) lets them go after the window and
// the ack wait.

export class WorkingSignal {
  private until = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly everyMs: number,
    private readonly windowMs: number,
    private readonly send: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sends now, then every `everyMs` until `windowMs` after the last call. */
  extend(): void {
    this.send();
    this.until = this.now() + this.windowMs;
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.now() >= this.until) this.stop();
      else this.send();
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
