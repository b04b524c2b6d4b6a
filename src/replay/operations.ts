// Recover and replay as the admin API and the CLI both run them: the input checked in full (every
// bad field named), the tenant and endpoint looked up, then the operation. Nothing is queued
// unless everything checked out.
import { WssError } from '../lib/errors.js';
import { EVENT_ID_PATTERN } from '../queue/event.js';
import type { Config } from '../config.js';
import type { RedisClient } from '../redis/client.js';
import type { ExpressionRunner } from '../expressions/gate.js';
import type { Registry } from '../tenants/registry.js';
import { ID_PATTERN } from '../tenants/schema.js';
import { LISTED_IDS, recoverFailed, type RecoverResult } from './recover.js';
import { replay, type ReplayResult } from './replay.js';
import type { ReplayHistory } from '../producers/sources/source.js';
import type { DeliveryQueues } from '../queue/delivery-queues.js';
import { iso, parseTimeArg, TIME_ARG_HELP } from '../lib/time-arg.js';

/** Refused input: `status` 400 (bad field), 404 (no such endpoint) or 409 (endpoint disabled). */
export class OperationError extends WssError {
  constructor(
    readonly status: 400 | 404 | 409,
    readonly problems: readonly string[],
  ) {
    super('OPERATION_REFUSED', problems.join('; '));
  }
}

export interface OperationDeps {
  redis: RedisClient;
  registry: Registry;
  config: Pick<
    Config,
    | 'prefix'
    | 'source'
    | 'dedupTtlMs'
    | 'keepCompleted'
    | 'maxEventBytes'
    | 'replayMaxEvents'
    | 'replayMaxDeliveries'
    | 'replayMaxInFlight'
  >;
  /** Where replay reads past events (replay/history.ts: the stream, or the source's own). */
  history: ReplayHistory;
  queues: DeliveryQueues;
  runner: ExpressionRunner;
  now: () => number;
}

type Input = Readonly<Record<string, unknown>>;

function unknownFields(input: Input, known: readonly string[], problems: string[]): void {
  for (const k of Object.keys(input))
    if (!known.includes(k)) problems.push(`field "${k}": unknown field (expected ${known.join(', ')})`);
}

function timeField(input: Input, name: string, nowMs: number, problems: string[], required = true): number | undefined {
  const v = input[name];
  if (v === undefined) {
    if (required) problems.push(`field "${name}": required, ${TIME_ARG_HELP}`);
    return undefined;
  }
  const ms = parseTimeArg(v, nowMs);
  if (ms === undefined) problems.push(`field "${name}": must be ${TIME_ARG_HELP}`);
  else if (ms > nowMs) problems.push(`field "${name}": ${iso(ms)} is in the future`);
  return ms;
}

function dryRunField(input: Input, problems: string[]): boolean {
  const v = input['dryRun'];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') problems.push('field "dryRun": must be true or false');
  return v === true;
}

export interface RecoverAnswer extends RecoverResult {
  tenant: string;
  endpoint: string;
  since: string;
  dryRun: boolean;
  eventId?: string;
}

/**
 * `{"since", "dryRun"?, "eventId"?}`: `since` is required unless `eventId` narrows the recover to
 * one event's delivery (the event page's button), which then looks back without limit.
 */
export async function runRecover(
  deps: OperationDeps,
  tenant: string,
  endpoint: string,
  input: Input,
): Promise<RecoverAnswer> {
  const problems: string[] = [];
  if (!ID_PATTERN.test(tenant)) problems.push('tenant id: must match ^[a-z0-9][a-z0-9_-]{0,62}$');
  if (!ID_PATTERN.test(endpoint)) problems.push('endpoint id: must match ^[a-z0-9][a-z0-9_-]{0,62}$');
  unknownFields(input, ['since', 'dryRun', 'eventId'], problems);
  const eventId = input['eventId'];
  if (eventId !== undefined && (typeof eventId !== 'string' || !EVENT_ID_PATTERN.test(eventId)))
    problems.push('field "eventId": must be 1-200 characters of A-Z a-z 0-9 . _ ~ -');
  const nowMs = deps.now();
  const sinceMs = timeField(input, 'since', nowMs, problems, eventId === undefined) ?? 0;
  const dryRun = dryRunField(input, problems);
  if (problems.length > 0) throw new OperationError(400, problems);
  const ep = await deps.registry.getEndpointConfig(tenant, endpoint);
  if (!ep) throw new OperationError(404, [`endpoint "${endpoint}" of tenant "${tenant}" not found`]);
  // Its deliveries would only fail again (ENDPOINT_DISABLED) and land back in the failed set.
  if (!ep.enabled)
    throw new OperationError(409, [`endpoint "${endpoint}" of tenant "${tenant}" is disabled; enable it first`]);
  const queue = deps.queues.forEndpoint(tenant, endpoint).queue;
  const result = await recoverFailed(deps.redis, queue, {
    tenant,
    endpoint,
    sinceMs,
    dryRun,
    ...(typeof eventId === 'string' ? { eventId } : {}),
  });
  return {
    tenant,
    endpoint,
    since: iso(sinceMs),
    dryRun,
    ...(typeof eventId === 'string' ? { eventId } : {}),
    ...result,
    jobIds: result.jobIds.slice(0, LISTED_IDS),
  };
}

/** `{"tenant", "endpoint"?, "from", "to", "dryRun"?}`. */
export async function runReplay(deps: OperationDeps, input: Input): Promise<ReplayResult> {
  const problems: string[] = [];
  unknownFields(input, ['tenant', 'endpoint', 'from', 'to', 'dryRun'], problems);
  const { tenant, endpoint } = input;
  if (typeof tenant !== 'string' || !ID_PATTERN.test(tenant))
    problems.push('field "tenant": required, a tenant id (^[a-z0-9][a-z0-9_-]{0,62}$)');
  if (endpoint !== undefined && (typeof endpoint !== 'string' || !ID_PATTERN.test(endpoint)))
    problems.push('field "endpoint": must be an endpoint id (^[a-z0-9][a-z0-9_-]{0,62}$)');
  const nowMs = deps.now();
  const fromMs = timeField(input, 'from', nowMs, problems);
  const toMs = input['to'] === undefined ? undefined : (parseTimeArg(input['to'], nowMs) ?? Number.NaN);
  if (toMs === undefined) problems.push(`field "to": required, ${TIME_ARG_HELP}`);
  else if (Number.isNaN(toMs)) problems.push(`field "to": must be ${TIME_ARG_HELP}`);
  else if (fromMs !== undefined && toMs < fromMs)
    problems.push(`field "to": ${iso(toMs)} is before "from" (${iso(fromMs)})`);
  const dryRun = dryRunField(input, problems);
  if (problems.length > 0) throw new OperationError(400, problems);
  // The brokers keep nothing once acknowledged, and their events were never in the Redis
  // Stream: nothing to replay (replay/history.ts). The outbox with WSS_OUTBOX_KEEP keeps rows.
  const { kind } = deps.config.source;
  if (kind === 'amqp' || kind === 'nats')
    throw new OperationError(409, [
      `replay reads the Redis Stream or the PostgreSQL outbox; with WSS_SOURCE=${kind} the events are in neither, so nothing can be replayed (see docs/sources/). Recovering failed deliveries works with every source.`,
    ]);

  const snap = await deps.registry.refresh();
  const t = snap.tenants.get(tenant as string);
  if (!t) throw new OperationError(400, [`field "tenant": unknown tenant "${String(tenant)}"`]);
  let endpoints = [...t.endpoints.values()];
  if (typeof endpoint === 'string') {
    const ep = t.endpoints.get(endpoint);
    if (!ep)
      throw new OperationError(400, [`field "endpoint": tenant "${String(tenant)}" has no endpoint "${endpoint}"`]);
    if (!ep.config.enabled)
      throw new OperationError(400, [`field "endpoint": endpoint "${endpoint}" is disabled; enable it first`]);
    endpoints = [ep];
  }
  return replay(
    {
      history: deps.history,
      redis: deps.redis,
      endpoints,
      runner: deps.runner,
      queues: deps.queues,
      plan: {
        dedupTtlMs: deps.config.dedupTtlMs,
        keepCompleted: deps.config.keepCompleted,
        maxEventBytes: deps.config.maxEventBytes,
      },
      maxEvents: deps.config.replayMaxEvents,
      maxDeliveries: deps.config.replayMaxDeliveries,
      maxInFlight: deps.config.replayMaxInFlight,
      prefix: deps.config.prefix,
      now: deps.now,
    },
    { tenant: tenant as string, endpoint: endpoint as string | undefined, fromMs: fromMs!, toMs: toMs!, dryRun },
  );
}
