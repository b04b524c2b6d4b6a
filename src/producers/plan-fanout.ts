// Which endpoints get an event, and the exact body each one receives. Endpoints without a
// filter or transform are planned here directly; the others' expressions go, for a whole
// batch of events at once, to the expression pool (threads with limits, see
// src/expressions/pool.ts). The bridge turns the plan into jobs.
import { envelopeBody, type WssEvent } from '../queue/event.js';
import { orderingKeyProblem } from '../queue/ordering.js';
import type { CompiledEndpoint } from '../tenants/compile.js';
import { describeFailure } from '../expressions/failure.js';
import type { ExprTask } from '../expressions/pool.js';
import type { ExpressionGate, ExpressionRunner } from '../expressions/gate.js';

interface PlannedDelivery {
  endpoint: string;
  retry: { attempts: number; backoffMs: number };
  body: string;
  /** The ordering key (the event's, else the endpoint's expression's) and the endpoint's onFailure. */
  ordering?: { key: string; block: boolean };
}

interface FanoutPlan {
  deliveries: PlannedDelivery[];
  /**
   * Endpoints whose filter or transform failed on this event, or whose transformed body is over
   * maxBodyBytes (kind `too_large`; no kind: `expression`): dead-lettered, not dropped.
   */
  failures: Array<{ endpoint: string; reason: string; kind?: 'too_large' }>;
}

export interface FanoutExpressions {
  runner: ExpressionRunner;
  gate?: ExpressionGate | undefined;
}

export interface FanoutRequest {
  event: WssEvent;
  endpoints: Iterable<CompiledEndpoint>;
}

type Slot = (
  | { delivery: PlannedDelivery }
  | { failure: { endpoint: string; reason: string } }
  | { task: number; ep: CompiledEndpoint }
) & { key?: string | number; block?: boolean };

function brokenReason(id: string, why: string): string {
  return `endpoint "${id}" is broken (${why}); its filter/transform is not evaluated until the endpoint is registered again`;
}

/** Plans many events at once, so their evaluations travel to the pool in few messages. */
export async function planFanouts(
  requests: readonly FanoutRequest[],
  expr: FanoutExpressions,
  maxBodyBytes = Number.POSITIVE_INFINITY,
): Promise<FanoutPlan[]> {
  const inputs: string[] = [];
  const tasks: ExprTask[] = [];
  const budgets: number[] = [];
  const groups = new Map<string, number>();
  const slotsPerEvent: Slot[][] = [];
  const envelopes: string[] = [];
  for (const { event, endpoints } of requests) {
    const slots: Slot[] = [];
    let envelope: string | undefined;
    let input = -1;
    for (const ep of endpoints) {
      const { config } = ep;
      if (!config.enabled || !ep.subscribes(event.type)) continue;
      envelope ??= envelopeBody(event);
      const before = slots.length;
      const plain = ep.filter === undefined && ep.transform === undefined;
      const broken = config.broken?.reason ?? (plain ? undefined : expr.gate?.broken(event.tenant, ep));
      if (broken !== undefined) {
        slots.push({ failure: { endpoint: config.id, reason: brokenReason(config.id, broken) } });
      } else if (plain) {
        slots.push({ delivery: { endpoint: config.id, retry: config.retry, body: envelope } });
      } else {
        if (input < 0) input = inputs.push(envelope) - 1;
        const key = `${event.tenant}/${config.id}`;
        let group = groups.get(key);
        if (group === undefined) groups.set(key, (group = budgets.push(expr.gate?.budget(event.tenant, ep) ?? -1) - 1));
        slots.push({ task: tasks.push({ filter: ep.filter, transform: ep.transform, input, group }) - 1, ep });
      }
      // The event's key wins; else the endpoint's expression, in its own unlimited group (a key
      // expression that fails leaves the delivery unordered, and breaks nothing).
      const slot = slots[before];
      if (slot !== undefined && !('failure' in slot)) {
        slot.block = config.ordering?.onFailure === 'block';
        if (event.orderingKey !== undefined) slot.key = event.orderingKey;
        else if (ep.orderingKey !== undefined) {
          if (input < 0) input = inputs.push(envelope) - 1;
          const group = budgets.push(-1) - 1;
          slot.key = tasks.push({ filter: undefined, transform: ep.orderingKey, input, group }) - 1;
        }
      }
    }
    slotsPerEvent.push(slots);
    envelopes.push(envelope ?? '');
  }
  const outcomes = tasks.length > 0 ? await expr.runner.run(inputs, tasks, budgets) : [];
  const keyOf = (slot: Slot): string | undefined => {
    if (typeof slot.key !== 'number') return slot.key;
    const out = outcomes[slot.key]!;
    if (out.status !== 'body') return undefined;
    const key: unknown = JSON.parse(out.body);
    return typeof key === 'string' && orderingKeyProblem(key) === undefined ? key : undefined;
  };
  return slotsPerEvent.map((slots, i) => {
    const event = requests[i]!.event;
    const plan: FanoutPlan = { deliveries: [], failures: [] };
    for (const slot of slots) {
      const before = plan.deliveries.length;
      if ('delivery' in slot) plan.deliveries.push(slot.delivery);
      else if ('failure' in slot) plan.failures.push(slot.failure);
      else {
        const { config } = slot.ep;
        const out = outcomes[slot.task]!;
        expr.gate?.record(event.tenant, slot.ep, out);
        if (out.status === 'pass')
          plan.deliveries.push({ endpoint: config.id, retry: config.retry, body: envelopes[i]! });
        else if (out.status === 'body') {
          const bytes = out.body.length * 3 > maxBodyBytes ? Buffer.byteLength(out.body) : 0;
          if (bytes > maxBodyBytes) {
            const reason = `endpoint "${config.id}": transform produced ${bytes} bytes, more than WSS_MAX_EVENT_BYTES (${maxBodyBytes})`;
            plan.failures.push({ endpoint: config.id, reason, kind: 'too_large' });
          } else plan.deliveries.push({ endpoint: config.id, retry: config.retry, body: out.body });
        } else if (out.status === 'failed')
          plan.failures.push({
            endpoint: config.id,
            reason: `endpoint "${config.id}": ${out.stage} failed: ${describeFailure(out.failure)}`,
          });
        else if (out.status === 'skipped') {
          const why = expr.gate?.broken(event.tenant, slot.ep) ?? 'too many expression failures in a row';
          plan.failures.push({ endpoint: config.id, reason: brokenReason(config.id, why) });
        }
      }
      const key = plan.deliveries.length > before ? keyOf(slot) : undefined;
      if (key !== undefined)
        plan.deliveries[before] = { ...plan.deliveries[before]!, ordering: { key, block: slot.block === true } };
    }
    return plan;
  });
}
