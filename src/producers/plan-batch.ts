// One read's worth of stream entries → the jobs to add, the dead letters to write and the ids
// to acknowledge. No I/O apart from jsonata; the bridge commits the result.
import type { JobsOptions } from 'bullmq';
import { DEFAULT_MAX_EVENT_BYTES, parseEntry } from '../event.js';
import { JOB_NAME, deliveryJobId, deliveryJobOptions, type DeliveryJobData } from '../job.js';
import { planFanout } from '../plan-fanout.js';
import type { CompiledEndpoint } from '../tenants/compile.js';
import { deadLetterFor, tooLargeDeadLetter, type DeadLetter } from './dead-letter.js';
import type { StreamEntry } from './stream-reply.js';

export interface BulkJob {
  name: typeof JOB_NAME;
  data: DeliveryJobData;
  opts: JobsOptions;
}

export interface BatchPlan {
  jobs: BulkJob[];
  dead: DeadLetter[];
  /** Valid events of known tenants that no endpoint wanted. */
  unrouted: number;
  /** Entries deleted from the stream while pending: nothing to deliver, only to acknowledge. */
  vanished: number;
  /** Every entry of the batch: each one is fully handled by the plan. */
  ackIds: string[];
}

export interface PlanOptions {
  dedupTtlMs: number;
  keepCompleted: { count: number; age: number };
  /** WSS_MAX_EVENT_BYTES: cap on `data` and on each transformed body (default 256 KiB). */
  maxEventBytes?: number;
}

/** The tenant's endpoints, or undefined when the tenant is not in the registry. */
export type EndpointLookup = (tenant: string) => Iterable<CompiledEndpoint> | undefined;

export async function planBatch(entries: readonly StreamEntry[], endpointsOf: EndpointLookup, opts: PlanOptions): Promise<BatchPlan> {
  const plan: BatchPlan = { jobs: [], dead: [], unrouted: 0, vanished: 0, ackIds: [] };
  const maxBytes = opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  for (const entry of entries) {
    plan.ackIds.push(entry.id);
    if (entry.fields === null) {
      plan.vanished++;
      continue;
    }
    const parsed = parseEntry(entry.id, entry.fields, maxBytes);
    if (!parsed.ok) {
      plan.dead.push(parsed.kind === 'too_large' ? tooLargeDeadLetter(entry, parsed.reason) : deadLetterFor(entry, 'malformed', parsed.reason));
      continue;
    }
    const event = parsed.event;
    const endpoints = endpointsOf(event.tenant);
    if (endpoints === undefined) {
      plan.dead.push(deadLetterFor(entry, 'unknown_tenant', `unknown tenant "${event.tenant}"`));
      continue;
    }
    const fanout = await planFanout(event, endpoints, maxBytes);
    for (const f of fanout.failures) plan.dead.push(deadLetterFor(entry, f.kind ?? 'expression', f.reason, f.endpoint));
    if (fanout.deliveries.length === 0 && fanout.failures.length === 0) plan.unrouted++;
    for (const d of fanout.deliveries) {
      const jobId = deliveryJobId(event.id, event.tenant, d.endpoint);
      plan.jobs.push({
        name: JOB_NAME,
        data: { eventId: event.id, tenant: event.tenant, endpoint: d.endpoint, type: event.type, createdAt: event.createdAtMs, body: d.body },
        opts: deliveryJobOptions(jobId, d.retry, opts),
      });
    }
  }
  return plan;
}
