// Which endpoints get an event, and the exact body each one receives. Pure apart from jsonata
// (whose evaluate is async); the bridge turns the plan into jobs.
import { envelopeBody, envelopeObject, type WssEvent } from './event.js';
import type { CompiledEndpoint } from './tenants/compile.js';

export interface PlannedDelivery {
  endpoint: string;
  retry: { attempts: number; backoffMs: number };
  body: string;
}

export interface FanoutPlan {
  deliveries: PlannedDelivery[];
  /**
   * Endpoints whose filter or transform failed on this event, or whose transformed body is over
   * maxBodyBytes (kind `too_large`; no kind: `expression`): dead-lettered, not dropped.
   */
  failures: Array<{ endpoint: string; reason: string; kind?: 'too_large' }>;
}

export async function planFanout(event: WssEvent, endpoints: Iterable<CompiledEndpoint>, maxBodyBytes = Number.POSITIVE_INFINITY): Promise<FanoutPlan> {
  const plan: FanoutPlan = { deliveries: [], failures: [] };
  let envelope: string | undefined;
  let input: ReturnType<typeof envelopeObject> | undefined;
  for (const ep of endpoints) {
    const { config } = ep;
    if (!config.enabled || !ep.subscribes(event.type)) continue;
    let stage = 'filter';
    try {
      if (ep.filter) {
        input ??= envelopeObject(event);
        // Only a literal true passes: a filter that yields a string or a number is a mistake.
        if ((await ep.filter.evaluate(input)) !== true) continue;
      }
      let body: string;
      if (ep.transform) {
        stage = 'transform';
        input ??= envelopeObject(event);
        const out: unknown = await ep.transform.evaluate(input);
        if (out === undefined) throw new Error('transform produced nothing');
        body = JSON.stringify(out);
        if (body.length * 3 > maxBodyBytes && Buffer.byteLength(body) > maxBodyBytes) {
          const reason = `endpoint "${config.id}": transform produced ${Buffer.byteLength(body)} bytes, more than WSS_MAX_EVENT_BYTES (${maxBodyBytes})`;
          plan.failures.push({ endpoint: config.id, reason, kind: 'too_large' });
          continue;
        }
      } else {
        body = envelope ??= envelopeBody(event);
      }
      plan.deliveries.push({ endpoint: config.id, retry: config.retry, body });
    } catch (err) {
      plan.failures.push({ endpoint: config.id, reason: `endpoint "${config.id}": ${stage} failed: ${(err as Error).message}` });
    }
  }
  return plan;
}
