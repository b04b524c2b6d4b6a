// Disabling an endpoint for a reason (auto-disable after WSS_DISABLE_AFTER without a success,
// or 410 Gone) and re-enabling it. Disabling records the reason and time on the endpoint, logs,
// counts and publishes the operational event `wss.endpoint.disabled` to the source (WSS_SOURCE) so
// the tenant's other subscribed endpoints hear of it like of any event (filtered, transformed,
// signed). Its data is the endpoint id, the reason and the time, nothing of any event.
// Re-enabling resets the circuit and promotes the endpoint's delayed (parked) jobs at once.
import type { RedisClient } from '../redis/client.js';
import type { EventPublisher } from '../producers/sources/source.js';
import { Job } from 'bullmq';
import { errorMessage } from '../lib/errors.js';
import type { DeliveryQueues } from '../queue/delivery-queues.js';
import { endpointJobIdPrefix, type DeliveryQueue } from '../queue/job.js';
import type { Logger } from '../lib/log.js';
import { endpointsDisabled } from '../lib/metrics.js';
import { publishTo } from '../queue/publish.js';
import type { Registry } from '../tenants/registry.js';
import { resetCircuit } from './circuit.js';

const DISABLED_EVENT_TYPE = 'wss.endpoint.disabled';

interface DisableDeps {
  registry: Registry;
  /** The configured source (WSS_SOURCE): the tenant's endpoints hear of it like of any event. */
  publisher: EventPublisher;
  maxEventBytes: number;
  log: Logger;
}

/** `kind`: the metric's label, `auto` (WSS_DISABLE_AFTER) or `gone` (410). */
export async function disableEndpoint(
  d: DisableDeps,
  tenant: string,
  endpoint: string,
  kind: 'auto' | 'gone',
  reason: string,
  atMs: number,
): Promise<void> {
  const since = new Date(atMs).toISOString();
  const updated = await d.registry.updateEndpoint(tenant, endpoint, (ep) =>
    ep.enabled ? { ...ep, enabled: false, disabled: { reason, since } } : ep,
  );
  if (!updated) return;
  d.log.warn({ tenant, endpoint, reason, kind }, 'endpoint disabled: its queued jobs are kept until it is re-enabled');
  endpointsDisabled.labels(kind).inc();
  try {
    await publishTo(
      d.publisher,
      {
        tenant,
        type: DISABLED_EVENT_TYPE,
        data: { endpoint, reason, disabledAt: since },
        id: `wss-endpoint-disabled.${endpoint}.${atMs}`,
      },
      d.maxEventBytes,
    );
  } catch (err) {
    d.log.error({ tenant, endpoint, err: errorMessage(err) }, 'could not publish wss.endpoint.disabled');
  }
}

/**
 * After an endpoint is enabled again: its circuit starts closed with no failures, and its
 * delayed jobs (parked while disabled, waiting out a circuit, or between retries) are made
 * waiting now, in its shard's queue and in queues of other WSS_SHARDS still known. Walks each
 * delayed set with ZSCAN (job ids start with `<tenant>.<endpoint>.`): O(delayed jobs), once per
 * re-enable. Returns how many jobs were promoted.
 */
export async function resumeEndpoint(
  redis: RedisClient,
  queues: DeliveryQueues,
  tenant: string,
  endpoint: string,
): Promise<number> {
  await resetCircuit(redis, queues.prefix, tenant, endpoint, queues.layout);
  const own = queues.forEndpoint(tenant, endpoint);
  let promoted = 0;
  for (const ref of [own, ...(await queues.foreign())])
    promoted += await promoteDelayed(redis, ref.queue, `${queues.prefix}:${ref.name}:delayed`, tenant, endpoint);
  return promoted;
}

async function promoteDelayed(
  redis: RedisClient,
  queue: DeliveryQueue,
  key: string,
  tenant: string,
  endpoint: string,
): Promise<number> {
  let cursor = '0';
  let promoted = 0;
  const match = `${endpointJobIdPrefix(tenant, endpoint)}*`;
  do {
    const [next, flat] = await redis.zscan(key, cursor, 'MATCH', match, 'COUNT', 1_000);
    cursor = next;
    for (let i = 0; i < flat.length; i += 2) {
      const job = await Job.fromId(queue, flat[i]!);
      // Gone or moved on meanwhile (taken by a worker, promoted by BullMQ): nothing to do.
      if (
        job &&
        (await job.promote().then(
          () => true,
          () => false,
        ))
      )
        promoted++;
    }
  } while (cursor !== '0');
  return promoted;
}
