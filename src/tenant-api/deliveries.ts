// A tenant's deliveries, as the tenant API and the portal both read and recover them: the
// search of settled deliveries, one event's attempts, recover (one event's failed delivery or
// all failed since a time) and replay of a time range, with the bounds the operator's
// operations have (WSS_REPLAY_MAX_EVENTS, the stream's retention). The tenant is always the
// credential's: a body or query naming a tenant is refused.
import { EVENT_ID_PATTERN } from '../queue/event.js';
import type { RoleContext } from '../roles.js';
import type { ExpressionPool } from '../expressions/pool.js';
import type { DeliveryQueues } from '../queue/delivery-queues.js';
import type { Logger } from '../lib/log.js';
import { HistoryStore } from '../history/store.js';
import { lookupEvent, type LookupDeps } from '../history/lookup.js';
import type { EventView } from '../history/event-status.js';
import { searchDeliveries, type SearchPage } from '../history/search.js';
import { parseSearchQuery, SearchQueryError } from '../history/search-query.js';
import { OperationError, runRecover, runReplay, type OperationDeps, type RecoverAnswer } from '../replay/operations.js';
import type { ReplayHistory } from '../producers/sources/source.js';
import { ReplayRefusedError, type ReplayResult } from '../replay/replay.js';
import { who, type TenantPrincipal } from '../access/principal.js';
import { badRequest, notFound, TenantRequestError } from './errors.js';

export interface TenantDeliveriesDeps {
  ctx: RoleContext<'dashboard'>;
  queues: DeliveryQueues;
  expressions: ExpressionPool;
  log: Logger;
  /** Where replay reads past events (replay/history.ts). */
  history: ReplayHistory;
}

function refusal(err: unknown): unknown {
  if (err instanceof OperationError) return new TenantRequestError(err.status, err.problems);
  if (err instanceof ReplayRefusedError) return badRequest(err.message);
  return err;
}

export class TenantDeliveries {
  private readonly lookup: LookupDeps;
  private readonly ops: OperationDeps;

  constructor(private readonly d: TenantDeliveriesDeps) {
    const { ctx, queues } = d;
    const store = new HistoryStore(ctx.redis, {
      prefix: ctx.config.prefix,
      layout: ctx.config.layout,
      ...ctx.config.history,
    });
    this.lookup = {
      store,
      redis: ctx.redis,
      queueFor: (t, e) => queues.forEndpoint(t, e).queue,
      endpointsOf: (t) => [...(ctx.registry.snapshot().tenants.get(t)?.endpoints.keys() ?? [])],
    };
    this.ops = {
      redis: ctx.redis,
      registry: ctx.registry,
      config: ctx.config,
      history: d.history,
      queues,
      runner: d.expressions,
      now: ctx.now,
    };
  }

  /** Settled deliveries, newest first: `endpoint`, `state`, `since`, `until`, `limit`, `cursor`. */
  async search(tenant: string, query: Record<string, unknown>): Promise<SearchPage> {
    if (query.tenant !== undefined) throw badRequest('query "tenant": the tenant is the one in the URL');
    const { ctx } = this.d;
    let q;
    try {
      q = parseSearchQuery({ ...query, tenant }, ctx.now());
    } catch (err) {
      if (err instanceof SearchQueryError) throw badRequest(`query "${err.field}": ${err.detail}`);
      throw err;
    }
    const snap = await ctx.registry.refresh();
    const endpoints = snap.tenants.get(tenant)?.endpoints;
    if (q.endpoint !== undefined && !endpoints?.has(q.endpoint)) throw notFound(`endpoint "${q.endpoint}"`);
    const names = q.endpoint !== undefined ? [q.endpoint] : [...(endpoints?.keys() ?? [])].sort();
    return searchDeliveries(ctx.redis, { ...ctx.config, ...ctx.config.history }, q, names, ctx.now());
  }

  /** The event as this tenant's endpoints saw it (other tenants' deliveries of the same id are not shown). */
  async event(tenant: string, id: string): Promise<{ eventId: string } & EventView> {
    if (!EVENT_ID_PATTERN.test(id)) throw badRequest('event id: must be 1-200 characters of A-Z a-z 0-9 . _ ~ -');
    await this.d.ctx.registry.refresh();
    const status = await lookupEvent(this.lookup, id, { tenant });
    const view = status?.events.find((e) => e.tenant === tenant);
    if (!view) throw notFound(`event "${id}"`);
    return { eventId: id, ...view };
  }

  /** `{"since"}` for every failed delivery since then, or `{"eventId"}` for one; `dryRun` counts only. */
  async recover(p: TenantPrincipal, endpoint: string, input: Record<string, unknown>): Promise<RecoverAnswer> {
    try {
      const out = await runRecover(this.ops, p.tenant, endpoint, input);
      this.d.log.info(
        { ...who(p), endpoint, since: out.since, dryRun: out.dryRun, failed: out.failed, recovered: out.recovered },
        'tenant: recover',
      );
      return out;
    } catch (err) {
      throw refusal(err);
    }
  }

  /** `{"endpoint"?, "from", "to", "dryRun"?}`: this tenant's events of that range, sent again. */
  async replay(p: TenantPrincipal, input: Record<string, unknown>): Promise<ReplayResult> {
    if (input.tenant !== undefined) throw badRequest('field "tenant": the tenant is the one in the URL');
    try {
      const out = await runReplay(this.ops, { ...input, tenant: p.tenant });
      this.d.log.info(
        { ...who(p), endpoint: input.endpoint, from: out.from, to: out.to, dryRun: out.dryRun, events: out.events },
        'tenant: replay',
      );
      return out;
    } catch (err) {
      throw refusal(err);
    }
  }
}
