// Admin API routes for ordering keys (docs/ordering.md), mounted under /api with the rest of the
// admin API: list blocked keys, skip a key's blocked head.
import type { Router } from 'express';
import type { Logger } from '../lib/log.js';
import type { RoleContext } from '../roles.js';
import type { DeliveryQueues } from '../queue/delivery-queues.js';
import { blockedKeys, OrderingSkipError, skipOrdered, type OrderingAdminDeps } from '../queue/ordering-admin.js';

export function orderingRoutes(
  router: Router,
  { ctx, log, queues }: { ctx: RoleContext<'dashboard'>; log: Logger; queues: DeliveryQueues },
): void {
  const deps: OrderingAdminDeps = {
    redis: ctx.redis,
    queues,
    prefix: ctx.config.prefix,
    ttlS: ctx.config.orderingKeyTtlS,
    now: ctx.now,
  };
  router.get('/ordering/blocked', async (req, res) => {
    const tenant = typeof req.query['tenant'] === 'string' ? req.query['tenant'] : undefined;
    const endpoint = typeof req.query['endpoint'] === 'string' ? req.query['endpoint'] : undefined;
    res.json({
      blocked: await blockedKeys(deps, { ...(tenant ? { tenant } : {}), ...(endpoint ? { endpoint } : {}) }),
    });
  });
  router.post('/ordering/skip', async (req, res) => {
    const jobId: unknown = (req.body as { jobId?: unknown } | undefined)?.jobId;
    if (typeof jobId !== 'string' || jobId === '')
      return res.status(400).json({ error: 'field "jobId": required, a delivery job id' });
    try {
      const skipped = await skipOrdered(deps, jobId);
      log.info(skipped, 'admin: ordering key head skipped');
      return res.json({ skipped: true, ...skipped });
    } catch (err) {
      if (err instanceof OrderingSkipError) return res.status(err.status).json({ error: err.message });
      throw err;
    }
  });
}
