// Poison pills: messages a bridge died (or hung) on again and again. After WSS_MAX_ENTRY_DELIVERIES
// deliveries without acknowledgement (counted by the source) the message is dead-lettered
// unplanned (planning it is what may kill the process) and acknowledged, so the source moves on.
import { deadLetterFor } from './dead-letter.js';
import type { BatchPlan } from './plan-batch.js';
import type { SourceMessage } from './sources/source.js';

export function poisonReason(deliveries: number, maxDeliveries: number): string {
  return `poison: delivered ${deliveries} times without being acknowledged (WSS_MAX_ENTRY_DELIVERIES=${maxDeliveries}); a bridge died or hung while handling it`;
}

/** Dead letters for every message of a poison batch; `deliveries` counts before this read. */
export function poisonPlan(
  entries: readonly SourceMessage[],
  deliveries: ReadonlyMap<string, number>,
  maxDeliveries: number,
): BatchPlan {
  const plan: BatchPlan = { jobs: [], dead: [], unrouted: 0, vanished: 0, ackIds: [] };
  for (const e of entries) {
    plan.ackIds.push(e.id);
    if (e.fields === null) plan.vanished++;
    else plan.dead.push(deadLetterFor(e, 'poison', poisonReason(deliveries.get(e.id) ?? maxDeliveries, maxDeliveries)));
  }
  return plan;
}
