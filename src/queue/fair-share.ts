// Fair share: each delivery job gets a BullMQ priority from start-time fair queueing (SFQ) over
// flows, one flow per tenant endpoint. Pure: the bridge reads the state once per batch
// (fair-state.ts), this decides every job's priority and the flows' new finish tags, and the
// commit writes them. Design and bound: docs/isolation.md.
import type { BulkJob } from './job.js';

/** BullMQ's largest priority (Job's PRIORITY_LIMIT, 2^21 - 1); 0 would mean "no priority". */
export const PRIORITY_LIMIT = 2 ** 21 - 1;
/**
 * When the head of the queue reaches this priority, the queued jobs' priorities are shifted down
 * (fair-state.ts, rebase): half the range is left for tags ahead of the head.
 */
export const REBASE_AT = 2 ** 20;

export interface FairState {
  /** System virtual time (absolute): the start tag of the job at the head of the queue. */
  vt: number;
  /** Absolute tag of priority 0: priority = tag - base, raised by each rebase. */
  base: number;
  /** Finish tags (absolute) of the flows of the batch's tenants, by flowField; absent: idle. */
  tags: ReadonlyMap<string, number>;
}

export interface FairPlan {
  jobs: BulkJob[];
  /** Written after the jobs exist: new finish tags (max-merged), the virtual time read, the base used. */
  vt: number;
  base: number;
  tags: Map<string, number>;
}

/** The flow's hash field: normal events and the tenant's share; `/h` high and `/l` low sub-flows. */
export function flowField(tenant: string, endpoint: string, cls: 'normal' | 'high' | 'low' = 'normal'): string {
  return cls === 'normal' ? `${tenant}/${endpoint}` : `${tenant}/${endpoint}/${cls[0]}`;
}

/** Every hash field whose tag the planner may read for these jobs: all endpoints of their tenants. */
export function fieldsToRead(jobs: readonly BulkJob[], endpointsOf: (tenant: string) => Iterable<string>): string[] {
  const fields = new Set<string>();
  const tenants = new Set(jobs.map((j) => j.data.tenant));
  for (const t of tenants) for (const e of endpointsOf(t)) fields.add(flowField(t, e));
  for (const j of jobs) {
    fields.add(flowField(j.data.tenant, j.data.endpoint, 'high'));
    fields.add(flowField(j.data.tenant, j.data.endpoint, 'low'));
  }
  return [...fields];
}

/**
 * SFQ: a job of flow f starts at S = max(V, F_f) and moves F_f to S + cost. The cost of a job is
 * the number of its tenant's busy endpoints (finish tag ahead of V, or jobs in this batch), so a
 * tenant's endpoints share one tenant's worth of virtual time: a tenant with one busy endpoint
 * and a tenant with ten both advance one round per round.
 * Classes, inside the flow: `high` starts at max(V, F_high) — ahead of the flow's queued normal
 * jobs — and is still charged to F_f, so it reorders the tenant's share without enlarging it;
 * `low` starts behind the flow's queued normal jobs (max(V, F_f, F_low)) on its own sub-flow.
 */
export function assignPriorities(
  jobs: readonly BulkJob[],
  state: FairState,
  endpointsOf: (tenant: string) => Iterable<string>,
): FairPlan {
  const { vt, base } = state;
  const tags = new Map<string, number>();
  const tag = (field: string) => tags.get(field) ?? state.tags.get(field) ?? 0;
  const cost = new Map<string, number>();
  const inBatch = new Map<string, Set<string>>();
  for (const j of jobs) {
    let s = inBatch.get(j.data.tenant);
    if (!s) inBatch.set(j.data.tenant, (s = new Set()));
    s.add(j.data.endpoint);
  }
  for (const [tenant, endpoints] of inBatch) {
    const busy = new Set(endpoints);
    for (const e of endpointsOf(tenant)) if (tag(flowField(tenant, e)) > vt) busy.add(e);
    cost.set(tenant, busy.size);
  }
  const out = jobs.map((j) => {
    const { tenant, endpoint } = j.data;
    const c = cost.get(tenant)!;
    const main = flowField(tenant, endpoint);
    let start: number;
    if (j.data.priority === 'high') {
      const hi = flowField(tenant, endpoint, 'high');
      start = Math.max(vt, tag(hi));
      tags.set(hi, start + c);
      tags.set(main, Math.max(vt, tag(main)) + c);
    } else if (j.data.priority === 'low') {
      const lo = flowField(tenant, endpoint, 'low');
      start = Math.max(vt, tag(main), tag(lo));
      tags.set(lo, start + c);
    } else {
      start = Math.max(vt, tag(main));
      tags.set(main, start + c);
    }
    return { ...j, opts: { ...j.opts, priority: toPriority(start, base) } };
  });
  return { jobs: out, vt, base, tags };
}

/** The BullMQ priority of an absolute tag: 1 at the base, capped at the limit (FIFO beyond it). */
export function toPriority(tag: number, base: number): number {
  return Math.min(PRIORITY_LIMIT, Math.max(1, Math.floor(tag - base) + 1));
}

/** The absolute virtual time from what Redis holds: the stored one, or the head job's tag if further. */
export function virtualTime(stored: number, base: number, headScore: number | undefined): number {
  if (headScore === undefined) return stored;
  const headPriority = Math.floor(headScore / 2 ** 32);
  return Math.max(stored, base + headPriority - 1);
}
