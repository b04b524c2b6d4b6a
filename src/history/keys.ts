// Where the delivery log lives (docs/delivery-log.md#cluster-placement). Event records are kept
// in the shard of the event id, so one lookup by id goes to one node without knowing the tenant
// or the endpoint; the search streams of an endpoint live under the endpoint's shard tag, next
// to its queue, limits and circuit.
import { endpointKeyBase, shardKeyBase, shardOf, type ShardLayout } from '../redis/shards.js';

export type SettledState = 'delivered' | 'failed' | 'cancelled';
export const SETTLED_STATES: readonly SettledState[] = ['delivered', 'failed', 'cancelled'];

export interface HistoryKeyConfig {
  prefix: string;
  layout: ShardLayout;
}

/** The shard of an event id's records: the id alone, as it is unique per tenant and looked up alone. */
export function eventShard(eventId: string, layout: ShardLayout): number {
  return shardOf(eventId, '', layout.count);
}

/** The bucket index hash of shard k; the buckets are `<this>:<n>`. */
export function eventMetaKey(c: HistoryKeyConfig, k: number): string {
  return `${shardKeyBase(c.prefix, c.layout, k)}:history:ev`;
}

/** The stream of an endpoint's deliveries that ended in `state`, newest last. */
export function settledStreamKey(c: HistoryKeyConfig, tenant: string, endpoint: string, state: SettledState): string {
  return `${endpointKeyBase(c.prefix, c.layout, tenant, endpoint)}:history:${tenant}:${endpoint}:${state}`;
}
