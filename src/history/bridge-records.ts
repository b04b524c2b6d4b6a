// What the bridge did with each event of a batch, as history lines: fanned out to which
// endpoints, dead-lettered (the whole event, or one endpoint's filter or transform), or
// unrouted. Pure: derived from the batch plan the bridge commits. The plan's shape is stated
// here as the little this reads of it (producers/plan-batch.ts's BatchPlan fits), so the
// delivery log depends on no role's code.
import type { DeliveryJobData } from '../queue/job.js';
import { encodeLine, type BridgeLine, type DeadLetterLine } from './lines.js';

/** What bridgeRecords reads of a batch plan. */
interface PlannedBatch {
  jobs: ReadonlyArray<{ data: Pick<DeliveryJobData, 'eventId' | 'tenant' | 'endpoint' | 'type' | 'createdAt'> }>;
  /** Dead letters: the message's original fields, its default event id and time, and which endpoint (if one) failed. */
  dead: ReadonlyArray<{
    defaultEventId: string;
    createdAtMs: number;
    kind: string;
    reason: string;
    endpoint?: string;
    fields: Readonly<Record<string, string>>;
  }>;
  unroutedEvents?: ReadonlyArray<{ id: string; tenant: string; type: string; createdAtMs: number }>;
}

interface Draft {
  eventId: string;
  bridge: BridgeLine;
  dead: DeadLetterLine[];
}

export function bridgeRecords(plan: PlannedBatch, atMs: number): Array<{ eventId: string; lines: string[] }> {
  const drafts = new Map<string, Draft>();
  const draft = (eventId: string, tenant: string, type: string, createdAtMs: number): Draft => {
    const key = `${tenant}\n${eventId}`;
    let d = drafts.get(key);
    if (!d) {
      d = {
        eventId,
        bridge: { kind: 'b', tenant, type, createdAtMs, atMs, outcome: 'unrouted', endpoints: [] },
        dead: [],
      };
      drafts.set(key, d);
    }
    return d;
  };
  for (const j of plan.jobs) {
    const d = draft(j.data.eventId, j.data.tenant, j.data.type, j.data.createdAt);
    d.bridge.endpoints.push(j.data.endpoint);
  }
  for (const x of plan.dead) {
    const f = x.fields;
    // A malformed message may lack an id or a tenant: the source's default id stands for the id, as the bridge would use it.
    const id = f['id'] && f['id'].length <= 200 ? f['id'] : x.defaultEventId;
    const d = draft(id, (f['tenant'] ?? '').slice(0, 200), (f['type'] ?? '').slice(0, 200), x.createdAtMs || atMs);
    d.dead.push({
      kind: 'x',
      tenant: d.bridge.tenant,
      ...(x.endpoint === undefined ? {} : { endpoint: x.endpoint }),
      deadKind: x.kind,
      reason: x.reason,
    });
  }
  for (const u of plan.unroutedEvents ?? []) draft(u.id, u.tenant, u.type, u.createdAtMs);
  return [...drafts.values()].map((d) => {
    if (d.bridge.endpoints.length > 0) d.bridge.outcome = 'fanned_out';
    else if (d.dead.length > 0) d.bridge.outcome = 'dead_lettered';
    return { eventId: d.eventId, lines: [encodeLine(d.bridge), ...d.dead.map(encodeLine)] };
  });
}
