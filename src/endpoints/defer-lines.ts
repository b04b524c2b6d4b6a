// When a job the fleet-wide limits did not admit is offered again (endpoints/limits.ts). A
// deferred job goes back to BullMQ's delayed set; spacing the deferred jobs of one endpoint along
// a line, one service time (or one rate-limit interval) apart, brings a backlog back about when
// it can be served instead of all at once. Pure: the clock is passed in.
import type { EndpointConfig } from '../tenants/schema.js';

export type EndpointLimitsConfig = Pick<EndpointConfig, 'maxInFlight' | 'rateLimit'>;

const MIN_DEFER_MS = 50;
const MAX_LINE_MS = 120_000;

/** Per endpoint: when its last deferred job is due, and its smoothed service time. Pure. */
export class DeferLines {
  private readonly lines = new Map<string, { until: number; serviceMs: number | undefined }>();
  constructor(private readonly now: () => number) {}

  private get(key: string) {
    let l = this.lines.get(key);
    if (!l) this.lines.set(key, (l = { until: 0, serviceMs: undefined }));
    return l;
  }

  served(key: string, ms: number): void {
    const l = this.get(key);
    l.serviceMs = l.serviceMs === undefined ? ms : l.serviceMs * 0.8 + ms * 0.2;
  }

  /** Due in at least `hintMs`, one `spacing` after the previous deferred job, never further than MAX_LINE_MS unless the hint says so. */
  defer(key: string, hintMs: number, limits: EndpointLimitsConfig): number {
    const l = this.get(key);
    const now = this.now();
    const spacing = limits.rateLimit
      ? limits.rateLimit.perMs / limits.rateLimit.max
      : (l.serviceMs ?? 100) / (limits.maxInFlight ?? 1);
    const due = Math.max(
      now + Math.max(hintMs, MIN_DEFER_MS),
      Math.min(Math.max(l.until, now) + spacing, now + MAX_LINE_MS),
    );
    l.until = due;
    return Math.round(due - now);
  }
}
