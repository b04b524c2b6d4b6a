// Admin API routes of the delivery log's write side (mounted under /api with the rest of the
// admin API, behind basic auth and the same-origin check): bulk recover of an endpoint's failed
// deliveries and replay of a time range from the stream. docs/delivery-log.md.
import type { Request, Response, Router } from 'express';
import type { Logger } from '../lib/log.js';
import type { RoleContext } from '../roles.js';
import { OperationError, runRecover, runReplay, type OperationDeps } from '../replay/operations.js';
import { ReplayBusyError, ReplayRefusedError } from '../replay/replay.js';
import type { ReplayHistory } from '../producers/sources/source.js';
import type { DeliveryQueues } from '../queue/delivery-queues.js';
import type { ExpressionPool } from '../expressions/pool.js';

interface ReplayRoutesDeps {
  ctx: RoleContext<'dashboard'>;
  log: Logger;
  expressions: ExpressionPool;
  queues: DeliveryQueues;
  /** Where replay reads past events (the stream, or the source's own). */
  history: ReplayHistory;
}

function inputOf(req: Request): Record<string, unknown> | undefined {
  // No body at all (curl -X POST without -d) is an empty request, not a malformed one.
  const b: unknown = req.body ?? {};
  return b !== null && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : undefined;
}

function refused(res: Response, err: unknown): boolean {
  if (err instanceof OperationError) {
    res.status(err.status).json({ error: err.message, problems: err.problems });
    return true;
  }
  if (err instanceof ReplayRefusedError) {
    res.status(400).json({ error: err.message, problems: [err.message] });
    return true;
  }
  if (err instanceof ReplayBusyError) {
    res.status(429).json({ error: err.message, problems: [err.message], inFlight: err.inFlight });
    return true;
  }
  return false;
}

const NOT_AN_OBJECT = 'the request body must be a JSON object (Content-Type: application/json)';

export function replayRoutes(router: Router, { ctx, log, expressions, queues, history }: ReplayRoutesDeps): void {
  const deps: OperationDeps = {
    history,
    redis: ctx.redis,
    registry: ctx.registry,
    config: ctx.config,
    queues,
    runner: expressions,
    now: ctx.now,
  };

  router.post('/tenants/:tenant/endpoints/:endpoint/recover', async (req, res) => {
    const input = inputOf(req);
    if (!input) return void res.status(400).json({ error: NOT_AN_OBJECT, problems: [NOT_AN_OBJECT] });
    try {
      const out = await runRecover(deps, req.params.tenant, req.params.endpoint, input);
      log.info(
        {
          tenant: out.tenant,
          endpoint: out.endpoint,
          since: out.since,
          dryRun: out.dryRun,
          failed: out.failed,
          recovered: out.recovered,
        },
        'admin: recover',
      );
      res.json(out);
    } catch (err) {
      if (!refused(res, err)) throw err;
    }
  });

  router.post('/replay', async (req, res) => {
    const input = inputOf(req);
    if (!input) return void res.status(400).json({ error: NOT_AN_OBJECT, problems: [NOT_AN_OBJECT] });
    try {
      const out = await runReplay(deps, input);
      log.info(
        {
          tenant: input['tenant'],
          endpoint: input['endpoint'],
          from: out.from,
          to: out.to,
          dryRun: out.dryRun,
          replayId: out.replayId,
          events: out.events,
          deliveries: out.deliveries,
        },
        'admin: replay',
      );
      res.status(out.dryRun ? 200 : 202).json(out);
    } catch (err) {
      if (!refused(res, err)) throw err;
    }
  });
}
