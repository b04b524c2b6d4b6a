// The admin API: endpoints registered, changed and removed at run time, test deliveries, and
// events published to the stream. Secrets are write-only. Everything is validated in full
// before anything is written, and each write is one MULTI (inside the Registry).
import { randomUUID } from 'node:crypto';
import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { errorMessage, TenantsValidationError } from '../lib/errors.js';
import { envelopeBody, type WssEvent } from '../queue/event.js';
import type { DeliveryQueues } from '../queue/delivery-queues.js';
import { deliveryJob } from '../queue/job.js';
import type { Logger } from '../lib/log.js';
import { EventRejectedError, publishTraced } from '../queue/publish.js';
import { noopTracer } from '../tracing/noop.js';
import type { EventPublisher } from '../producers/sources/source.js';
import type { RoleContext } from '../roles.js';
import type { ExpressionPool } from '../expressions/pool.js';
import { trialEndpoint } from '../expressions/trial.js';
import { ID_PATTERN, parseEndpoint, type EndpointConfig } from '../tenants/schema.js';
import { resumeEndpoint } from '../endpoints/disable.js';
import { markForeignSecretEnv } from '../signing/secret-env.js';
import { endpointHealth } from './endpoint-health.js';
import { publicEndpoint } from './public-view.js';
import { generatedKey, signingRoutes } from './signing-api.js';
import { replayRoutes } from './replay-api.js';
import { orderingRoutes } from './ordering-api.js';
import type { ReplayHistory } from '../producers/sources/source.js';
import { historyRoutes } from './history-api.js';

const TEST_EVENT_TYPE = 'wss.test';

type SecretFields = Pick<EndpointConfig, 'secret' | 'secretEnv' | 'previousSecrets'>;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function badRequest(res: Response, error: string, problems: string[] = [error]): void {
  res.status(400).json({ error, problems });
}

function notFound(res: Response, what: string): void {
  res.status(404).json({ error: `${what} not found` });
}

/** Route ids are checked like body ids, so a bad one is a 400 naming it, not a 404. */
function badIds(res: Response, ids: Record<string, string | undefined>): boolean {
  const problems = Object.entries(ids)
    .filter(([, v]) => v === undefined || !ID_PATTERN.test(v))
    .map(([k]) => `${k} id in the URL: must match ^[a-z0-9][a-z0-9_-]{0,62}$`);
  if (problems.length === 0) return false;
  badRequest(res, problems.join('; '), problems);
  return true;
}

function pickSecret(ep: SecretFields): SecretFields {
  const previous = ep.previousSecrets ? { previousSecrets: ep.previousSecrets } : {};
  return ep.secret !== undefined ? { secret: ep.secret, ...previous } : { secretEnv: ep.secretEnv, ...previous };
}

/** Queues a `wss.test` event for one endpoint (the admin API's and the tenant API's test route). */
export async function enqueueTestEvent(
  ctx: Pick<RoleContext<'dashboard'>, 'config' | 'now'>,
  queues: DeliveryQueues,
  tenant: string,
  ep: EndpointConfig,
): Promise<{ eventId: string; jobId: string }> {
  const createdAtMs = ctx.now();
  const event: WssEvent = {
    id: `test-${randomUUID()}`,
    tenant,
    type: TEST_EVENT_TYPE,
    data: null,
    dataText: JSON.stringify({ message: 'test event from the webhook-sender admin API', endpoint: ep.id }),
    createdAt: new Date(createdAtMs).toISOString(),
    createdAtMs,
    priority: 'normal',
  };
  const job = deliveryJob(event, { endpoint: ep.id, body: envelopeBody(event), retry: ep.retry }, ctx.config);
  await queues.forEndpoint(tenant, ep.id).queue.add(job.name, job.data, job.opts);
  return { eventId: event.id, jobId: job.opts.jobId };
}

interface AdminApiDeps {
  ctx: RoleContext<'dashboard'>;
  queues: DeliveryQueues;
  log: Logger;
  /** Runs the registration trial of filters and transforms (docs/expressions.md). */
  expressions: ExpressionPool;
  /** `POST /api/events` writes to the configured source (WSS_SOURCE). */
  publisher: EventPublisher;
  /** `POST /api/replay` reads past events here (the stream, or the source's own). */
  history: ReplayHistory;
}

export function adminApi({ ctx, queues, log, expressions, publisher, history }: AdminApiDeps): Router {
  const { registry, config } = ctx;
  const router = Router();
  // Room for an event at WSS_MAX_EVENT_BYTES plus its JSON escaping, and never under 1 MB.
  const bodyLimit = Math.max(1_048_576, 2 * config.maxEventBytes);
  router.use(express.json({ limit: bodyLimit }));

  const body = (req: Request, res: Response): Record<string, unknown> | undefined => {
    if (isObject(req.body)) return req.body;
    badRequest(res, 'the request body must be a JSON object (Content-Type: application/json)');
    return undefined;
  };

  router.get('/tenants', async (_req, res) => {
    const snap = await registry.refresh();
    const tenants = [...snap.tenants.values()]
      .map((t) => ({
        ...t.meta,
        endpoints: [...t.endpoints.values()]
          .map((e) => publicEndpoint(e.config))
          .sort((a, b) => a.id.localeCompare(b.id)),
      }))
      .sort((a, b) => a.id.localeCompare(b.id));
    res.json({ tenants });
  });

  router.get('/tenants/:tenant/endpoints/:endpoint', async (req, res) => {
    const { tenant, endpoint } = req.params;
    if (badIds(res, { tenant, endpoint })) return;
    const ep = await registry.getEndpointConfig(tenant, endpoint);
    if (!ep) return notFound(res, `endpoint "${endpoint}" of tenant "${tenant}"`);
    res.json(publicEndpoint(markForeignSecretEnv(tenant, ep, ctx.now())));
  });

  // A full replacement, except that a body giving neither `secret` nor `secretEnv` keeps the
  // stored one: operators toggle `enabled` or change a URL without handling the secret again.
  router.put('/tenants/:tenant/endpoints/:endpoint', async (req, res) => {
    const { tenant, endpoint } = req.params;
    if (badIds(res, { tenant, endpoint })) return;
    const input = body(req, res);
    if (!input) return;
    if (input.id !== undefined && input.id !== endpoint) {
      return badRequest(res, `field "id": must be "${endpoint}" as in the URL, or left out`);
    }
    const keepSecret = input.secret === undefined && input.secretEnv === undefined && input.secrets === undefined;
    const existing = await registry.getEndpointConfig(tenant, endpoint);
    // Registering again is how a broken endpoint is cleared: a `broken` in the body is ignored.
    const { broken: _broken, disabled: _disabled, ...fields } = input;
    let parsed: EndpointConfig;
    try {
      const secretPart =
        keepSecret && existing
          ? pickSecret(existing)
          : keepSecret
            ? generatedKey(input, config.secretsKeys !== undefined)
            : {};
      // A tenant's endpoint stays public-only unless the operator says otherwise (docs/portal.md).
      const keepPublicOnly =
        fields.publicOnly === undefined && existing?.publicOnly !== undefined
          ? { publicOnly: existing.publicOnly }
          : {};
      parsed = parseEndpoint(
        { ...fields, id: endpoint, ...secretPart, ...keepPublicOnly },
        { allowPrivateUrls: config.allowPrivateUrls, secretsEncrypted: config.secretsKeys !== undefined },
        tenant,
      );
      await trialEndpoint(expressions, tenant, parsed);
    } catch (err) {
      if (err instanceof TenantsValidationError) return badRequest(res, err.message, [...err.problems]);
      throw err;
    }
    let created = false;
    const updated = existing
      ? await registry.updateEndpoint(tenant, endpoint, (cur) =>
          keepSecret
            ? { ...parsed, secret: undefined, secretEnv: undefined, previousSecrets: undefined, ...pickSecret(cur) }
            : parsed,
        )
      : undefined;
    if (!updated) {
      // New, or deleted since we looked: a body without a secret cannot create one.
      if (keepSecret && existing)
        return badRequest(
          res,
          'field "secret": give exactly one of "secret" or "secretEnv" (the endpoint was removed meanwhile)',
        );
      created = !(await registry.putEndpoint(tenant, parsed));
    }
    const stored = (await registry.getEndpointConfig(tenant, endpoint)) ?? parsed;
    // Enabled again: what was kept queued for it goes now (docs/circuit-breaker.md).
    const resumed =
      existing && !existing.enabled && stored.enabled
        ? await resumeEndpoint(ctx.redis, queues, tenant, endpoint)
        : undefined;
    log.info(
      { tenant, endpoint, created, enabled: stored.enabled, ...(resumed !== undefined ? { resumed } : {}) },
      created ? 'admin: endpoint created' : 'admin: endpoint updated',
    );
    res.status(created ? 201 : 200).json(publicEndpoint(stored));
  });

  router.get('/tenants/:tenant/endpoints/:endpoint/health', async (req, res) => {
    const { tenant, endpoint } = req.params;
    if (badIds(res, { tenant, endpoint })) return;
    const ep = await registry.getEndpointConfig(tenant, endpoint);
    if (!ep) return notFound(res, `endpoint "${endpoint}" of tenant "${tenant}"`);
    res.json(await endpointHealth(ctx.redis, config.prefix, tenant, ep, config.layout));
  });

  router.delete('/tenants/:tenant/endpoints/:endpoint', async (req, res) => {
    const { tenant, endpoint } = req.params;
    if (badIds(res, { tenant, endpoint })) return;
    if (!(await registry.deleteEndpoint(tenant, endpoint)))
      return notFound(res, `endpoint "${endpoint}" of tenant "${tenant}"`);
    log.info({ tenant, endpoint }, 'admin: endpoint deleted');
    res.status(204).end();
  });

  // A `wss.test` event for this one endpoint, enqueued straight to the delivery queue (no
  // subscription, filter or transform applies): the normal worker signs and sends it.
  router.post('/tenants/:tenant/endpoints/:endpoint/test', async (req, res) => {
    const { tenant, endpoint } = req.params;
    if (badIds(res, { tenant, endpoint })) return;
    const ep = await registry.getEndpointConfig(tenant, endpoint);
    if (!ep) return notFound(res, `endpoint "${endpoint}" of tenant "${tenant}"`);
    if (!ep.enabled)
      return res
        .status(409)
        .json({ error: `endpoint "${endpoint}" of tenant "${tenant}" is disabled; enable it first` });
    const sent = await enqueueTestEvent(ctx, queues, tenant, ep);
    log.info({ tenant, endpoint, eventId: sent.eventId }, 'admin: test event enqueued');
    res.status(202).json(sent);
  });

  router.post('/events', async (req, res) => {
    const input = body(req, res);
    if (!input) return;
    const { tenant, type, data, id, priority, traceparent, tracestate, orderingKey } = input;
    const problems: string[] = [];
    if (typeof tenant !== 'string') problems.push('field "tenant": required, a string');
    if (typeof type !== 'string') problems.push('field "type": required, a string');
    if (data === undefined) problems.push('field "data": required, any JSON value');
    if (id !== undefined && typeof id !== 'string') problems.push('field "id": must be a string');
    if (priority !== undefined && typeof priority !== 'string')
      problems.push('field "priority": must be "high", "normal" or "low"');
    for (const [k, v] of [
      ['traceparent', traceparent],
      ['tracestate', tracestate],
      ['orderingKey', orderingKey],
    ] as const)
      if (v !== undefined && typeof v !== 'string') problems.push(`field "${k}": must be a string`);
    const known = ['tenant', 'type', 'data', 'id', 'priority', 'traceparent', 'tracestate', 'orderingKey'];
    const unknown = Object.keys(input).filter((k) => !known.includes(k));
    for (const k of unknown) problems.push(`field "${k}": unknown field`);
    // ?check=false: for producers that publish before they register the tenant.
    const check = req.query['check'];
    if (check !== undefined && check !== 'true' && check !== 'false')
      problems.push('query parameter "check": must be "true" or "false"');
    if (problems.length > 0) return badRequest(res, problems.join('; '), problems);
    let entryId: string;
    try {
      // Same check the bridge makes; refused here so the caller learns at once.
      if (check !== 'false' && ID_PATTERN.test(tenant as string) && !(await registry.hasTenant(tenant as string)))
        return res.status(404).json({
          error: `tenant "${String(tenant)}" not found: the bridge would dead-letter the event (unknown_tenant); register the tenant first, or add ?check=false to publish anyway`,
        });
      entryId = await publishTraced(
        ctx.tracer ?? noopTracer,
        publisher,
        {
          tenant: tenant as string,
          type: type as string,
          data,
          id: id as string | undefined,
          priority: priority as string | undefined,
          traceparent: traceparent as string | undefined,
          tracestate: tracestate as string | undefined,
          orderingKey: orderingKey as string | undefined,
        },
        { maxEventBytes: config.maxEventBytes, source: config.source.kind },
      );
    } catch (err) {
      if (err instanceof EventRejectedError && err.code === 'EVENT_TOO_LARGE')
        return res.status(413).json({ error: err.message, problems: [err.message] });
      if (err instanceof EventRejectedError) return badRequest(res, err.message);
      throw err;
    }
    res.status(202).json({ entryId });
  });

  signingRoutes(router, { ctx, log });
  historyRoutes(router, { ctx, queueFor: (t, e) => queues.forEndpoint(t, e).queue });
  replayRoutes(router, { ctx, log, expressions, queues, history });
  orderingRoutes(router, { ctx, log, queues });

  router.use((_req, res) => notFound(res, 'route'));
  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.parse.failed') return badRequest(res, 'the request body is not valid JSON');
    if (e.type === 'entity.too.large')
      return res.status(413).json({ error: `the request body is larger than ${bodyLimit} bytes` });
    log.error({ err: errorMessage(err) }, 'admin API: request failed');
    res.status(500).json({ error: 'internal error (see the server log)' });
  };
  router.use(onError);
  return router;
}
