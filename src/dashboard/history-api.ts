// Delivery log routes of the admin API (mounted under /api, behind basic auth): one event's
// status, and the search of settled deliveries (docs/delivery-log.md).
import type { Request, Response, Router } from 'express';
import { EVENT_ID_PATTERN } from '../queue/event.js';
import type { DeliveryQueue } from '../queue/job.js';
import type { RoleContext } from '../roles.js';
import { ID_PATTERN } from '../tenants/schema.js';
import { lookupEvent, type LookupDeps } from '../history/lookup.js';
import { HistoryStore } from '../history/store.js';
import { searchDeliveries } from '../history/search.js';
import { parseSearchQuery, SearchQueryError, type SearchQuery } from '../history/search-query.js';

interface HistoryRouteDeps {
  ctx: RoleContext<'dashboard'>;
  /** The queue of an endpoint's shard. */
  queueFor(tenant: string, endpoint: string): DeliveryQueue;
}

function fail(res: Response, status: number, error: string): void {
  res.status(status).json({ error, problems: [error] });
}

/** A single optional query string value; an array (`?a=1&a=2`) is refused by the caller. */
function queryValue(req: Request, name: string): string | undefined | null {
  const v = req.query[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : null;
}

export function historyRoutes(router: Router, { ctx, queueFor }: HistoryRouteDeps): HistoryStore {
  const { config, registry } = ctx;
  const store = new HistoryStore(ctx.redis, { prefix: config.prefix, layout: config.layout, ...config.history });
  const lookup: LookupDeps = {
    store,
    redis: ctx.redis,
    queueFor,
    endpointsOf: (t) => [...(registry.snapshot().tenants.get(t)?.endpoints.keys() ?? [])],
  };

  router.get('/events/:id', async (req, res) => {
    const id = req.params['id'] ?? '';
    if (!EVENT_ID_PATTERN.test(id))
      return fail(res, 400, 'event id in the URL: must be 1-200 characters of A-Z a-z 0-9 . _ ~ -');
    const tenant = queryValue(req, 'tenant');
    if (tenant === null || (tenant !== undefined && !ID_PATTERN.test(tenant)))
      return fail(res, 400, 'query "tenant": must match ^[a-z0-9][a-z0-9_-]{0,62}$');
    if (tenant !== undefined) await registry.refresh();
    const status = await lookupEvent(lookup, id, tenant === undefined ? {} : { tenant });
    if (!status)
      return res.status(404).json({
        error: `event "${id}" not found${tenant === undefined ? '' : ` for tenant "${tenant}"`} (the delivery log keeps ${config.history.retentionMs > 0 ? `${Math.round(config.history.retentionMs / 3_600_000)} h` : 'nothing: WSS_HISTORY_RETENTION=0'})`,
      });
    res.json(status);
  });
  router.get('/deliveries', async (req, res) => {
    let q: SearchQuery;
    try {
      q = parseSearchQuery(req.query as Record<string, unknown>, ctx.now());
    } catch (err) {
      if (err instanceof SearchQueryError) return fail(res, 400, `query "${err.field}": ${err.detail}`);
      throw err;
    }
    const snap = await registry.refresh();
    const tenant = snap.tenants.get(q.tenant);
    if (!tenant) return fail(res, 404, `query "tenant": tenant "${q.tenant}" not found`);
    if (q.endpoint !== undefined && !tenant.endpoints.has(q.endpoint))
      return fail(res, 404, `query "endpoint": endpoint "${q.endpoint}" of tenant "${q.tenant}" not found`);
    const endpoints = q.endpoint !== undefined ? [q.endpoint] : [...tenant.endpoints.keys()].sort();
    res.json(await searchDeliveries(ctx.redis, { ...config, ...config.history }, q, endpoints, ctx.now()));
  });
  return store;
}
