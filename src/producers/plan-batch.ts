// One read's worth of source messages → the jobs to add, the dead letters to write and the ids
// to acknowledge. No I/O apart from the expression pool, which gets the whole read's
// filters and transforms at once; the bridge commits the result.
import { DEFAULT_MAX_EVENT_BYTES, parseEnvelope, type WssEvent } from '../queue/event.js';
import { deliveryJob, type BulkJob } from '../queue/job.js';
import { orderPosition } from '../queue/ordering.js';
import { planFanouts, type FanoutExpressions, type FanoutRequest } from './plan-fanout.js';
import type { CompiledEndpoint } from '../tenants/compile.js';
import { deadLetterFor, tooLargeDeadLetter, type DeadLetter } from './dead-letter.js';
import type { SourceMessage } from './sources/source.js';
import type { TraceCarrier } from '../tracing/types.js';

export interface BatchPlan {
  jobs: BulkJob[];
  dead: DeadLetter[];
  /** Valid events of known tenants that no endpoint wanted. */
  unrouted: number;
  /** Those events, for the delivery log (src/history/bridge-records.ts). */
  unroutedEvents?: Array<{ id: string; tenant: string; type: string; createdAtMs: number }>;
  /** Messages that vanished while in hand (stream entries deleted while pending): nothing to deliver, only to acknowledge. */
  vanished: number;
  /** Every message of the batch: each one is fully handled by the plan. */
  ackIds: string[];
}

export interface PlanOptions {
  dedupTtlMs: number;
  keepCompleted: { count: number; age: number };
  /** WSS_MAX_EVENT_BYTES: cap on `data` and on each transformed body (default 256 KiB). */
  maxEventBytes?: number;
  /**
   * With tracing on: starts the event's bridge span (given how many deliveries it gets) and
   * returns the context its jobs carry. Called once per event that has deliveries.
   */
  trace?: ((event: WssEvent, deliveries: number) => TraceCarrier | undefined) | undefined;
  /** False: ordering keys are ignored (a replay's jobs are sent unordered). */
  ordered?: boolean;
}

/** The tenant's endpoints, or undefined when the tenant is not in the registry. */
export type EndpointLookup = (tenant: string) => Iterable<CompiledEndpoint> | undefined;

export async function planBatch(
  entries: readonly SourceMessage[],
  endpointsOf: EndpointLookup,
  opts: PlanOptions,
  expr: FanoutExpressions,
): Promise<BatchPlan> {
  const plan: BatchPlan = { jobs: [], dead: [], unrouted: 0, vanished: 0, ackIds: [] };
  // Per entry, in order: a dead letter now, or an index into the fan-out requests.
  const steps: Array<{ entry: SourceMessage; dead?: DeadLetter; fanout?: number; event?: WssEvent }> = [];
  const requests: FanoutRequest[] = [];
  const maxBytes = opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  for (const entry of entries) {
    plan.ackIds.push(entry.id);
    if (entry.fields === null) {
      plan.vanished++;
      continue;
    }
    if (entry.malformed !== undefined) {
      steps.push({ entry, dead: deadLetterFor(entry, 'malformed', entry.malformed) });
      continue;
    }
    const parsed = parseEnvelope(entry.fields, entry, maxBytes);
    if (!parsed.ok) {
      steps.push({
        entry,
        dead:
          parsed.kind === 'too_large'
            ? tooLargeDeadLetter(entry, parsed.reason)
            : deadLetterFor(entry, 'malformed', parsed.reason),
      });
      continue;
    }
    const event = parsed.event;
    const endpoints = endpointsOf(event.tenant);
    if (endpoints === undefined) {
      steps.push({ entry, dead: deadLetterFor(entry, 'unknown_tenant', `unknown tenant "${event.tenant}"`) });
      continue;
    }
    steps.push({ entry, event, fanout: requests.push({ event, endpoints }) - 1 });
  }
  const fanouts = await planFanouts(requests, expr, maxBytes);
  for (const { entry, dead, fanout, event } of steps) {
    if (dead) {
      plan.dead.push(dead);
      continue;
    }
    const f = fanouts[fanout!]!;
    const ev = event!;
    for (const x of f.failures) plan.dead.push(deadLetterFor(entry, x.kind ?? 'expression', x.reason, x.endpoint));
    if (f.deliveries.length === 0 && f.failures.length === 0) {
      plan.unrouted++;
      (plan.unroutedEvents ??= []).push({ id: ev.id, tenant: ev.tenant, type: ev.type, createdAtMs: ev.createdAtMs });
    }
    const trace = f.deliveries.length > 0 ? opts.trace?.(ev, f.deliveries.length) : undefined;
    for (const d of f.deliveries) {
      // An ordered delivery carries its source position (docs/ordering.md); replays are unordered.
      const ordering =
        d.ordering && opts.ordered !== false
          ? {
              key: d.ordering.key,
              pos: orderPosition(entry.id, entry.createdAtMs, ev.id),
              ...(d.ordering.block ? { onFailure: 'block' as const } : {}),
            }
          : undefined;
      plan.jobs.push(deliveryJob(ev, { ...d, ordering }, opts, trace));
    }
  }
  return plan;
}
