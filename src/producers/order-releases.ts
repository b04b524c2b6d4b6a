// The bridge's side of ordering keys (docs/ordering.md): after each acknowledged batch and every
// ORDER_PASS_MS, publish the source's watermark (every message below it is committed) and run
// the release pass over every shard: heads the watermark now allows are released, and releases
// lost to a crash (a job completed but its successor never released, a released job still
// parked) are healed. Never throws: a failed pass is tried again at the next tick.
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { DeliveryQueues } from '../queue/delivery-queues.js';
import { WATERMARK_ALL } from '../queue/ordering.js';
import type { OrderingStore } from '../queue/ordering-store.js';
import type { Source } from './sources/source.js';

export class OrderReleases {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';

  constructor(
    private readonly store: OrderingStore,
    private readonly queues: DeliveryQueues,
    private readonly source: Pick<Source, 'watermark'>,
    private readonly log: Logger,
  ) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => void this.run(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One watermark and pass; a call while one runs makes it run once more after. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.once();
      } while (this.again);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async once(): Promise<void> {
    try {
      const wm = this.source.watermark ? await this.source.watermark() : WATERMARK_ALL;
      // The pass uses the watermark just computed (a lower one than published is only slower,
      // never wrong), so publishing it runs alongside.
      await Promise.all([this.store.raiseWatermark(wm), ...this.queues.current.map((ref) => this.store.pass(ref, wm))]);
      this.lastError = '';
    } catch (err) {
      const message = errorMessage(err);
      if (message !== this.lastError)
        this.log.warn({ err: message }, 'bridge: ordering release pass failed (tried again)');
      this.lastError = message;
    }
  }
}
