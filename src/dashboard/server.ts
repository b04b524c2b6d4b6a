// The dashboard role: Bull Board, the admin API, health and metrics on one port (PORT).
//   /healthz /readyz /metrics      unauthenticated (see health.ts)
//   /admin/queues/*  /api/*        basic auth + same-origin check on writes
import express from 'express';
import type { Server } from 'node:http';
import { createDeliveryQueue } from '../queue.js';
import { createExpressionPool } from '../tenants/expression-trial.js';
import type { RoleContext, RunningRole } from '../roles.js';
import { adminApi } from './admin-api.js';
import { basicAuth, resolveCredentials, type Credentials } from './auth.js';
import { BOARD_PATH, bullBoardRouter } from './bull-board.js';
import { sameOriginOnly } from './csrf.js';
import { healthRouter, redisReadiness } from './health.js';
import { listen } from './listen.js';
import { createScrapeGauges } from './scrape-gauges.js';

export interface DashboardOptions {
  /** Default config.port; 0 picks a free port (tests). */
  port?: number;
  /** Every role in this process, for /readyz. Default: just this one. */
  roles?: () => readonly RunningRole[];
  /** Log a generated password once (default true). The runner may print `credentials` itself instead. */
  logCredentials?: boolean;
}

export interface RunningDashboard extends RunningRole {
  url: string;
  port: number;
  server: Server;
  credentials: Credentials;
}

export { securityHeaders } from './security-headers.js';
import { securityHeaders } from './security-headers.js';

export async function startDashboard(ctx: RoleContext, opts: DashboardOptions = {}): Promise<RunningDashboard> {
  const { config } = ctx;
  const log = ctx.log.child({ role: 'dashboard' });
  const credentials = resolveCredentials(config);
  const queue = createDeliveryQueue(ctx.redis, config.prefix);
  // BullMQ would console.error every connection error; src/redis.ts already logs the outage once.
  queue.on('error', () => {});
  const gauges = createScrapeGauges(ctx.redis, queue, config);
  // Threads start only when an endpoint with a filter or transform is registered.
  const expressions = createExpressionPool(config, log);
  // Filled in once listening; the health router needs it to leave itself out of /readyz.
  const me: { role?: RunningDashboard } = {};

  const app = express();
  securityHeaders(app);
  app.use(healthRouter({ redis: ctx.redis, roles: opts.roles ?? (() => (me.role ? [me.role] : [])), self: () => me.role, gauges }));
  app.get('/', (_req, res) => res.redirect(BOARD_PATH));
  const auth = basicAuth(credentials);
  app.use(BOARD_PATH, auth, sameOriginOnly(), bullBoardRouter(queue, config.prefix));
  app.use('/api', auth, sameOriginOnly(), adminApi({ ctx, queue, log, expressions }));

  let http;
  try {
    // Without auth (WSS_DASHBOARD_AUTH=off, meant for local use) only this machine may connect.
    http = await listen(app, opts.port ?? config.port, config.dashboardAuth === 'off' ? '127.0.0.1' : undefined);
  } catch (err) {
    await queue.close();
    await expressions.close();
    throw err;
  }
  const board = `${http.url}${BOARD_PATH}`;
  if (credentials.mode === 'off') {
    log.warn({ url: board }, 'dashboard: authentication is OFF (WSS_DASHBOARD_AUTH=off): anyone who can reach this port can retry jobs and change endpoints; for local use only');
  } else if (credentials.generated && opts.logCredentials !== false) {
    // Shown once, here: it is not stored anywhere. Set WSS_DASHBOARD_PASSWORD to choose one.
    log.warn({ url: board, user: credentials.user }, `dashboard: WSS_DASHBOARD_PASSWORD is not set; generated password for user "${credentials.user}": ${credentials.password}`);
  } else {
    log.info({ url: board, user: credentials.user }, 'dashboard listening');
  }

  let stopping: Promise<void> | undefined;
  const self: RunningDashboard = {
    name: 'dashboard',
    url: http.url,
    port: http.port,
    server: http.server,
    credentials,
    ready: () => redisReadiness(ctx.redis, 2_000),
    stop: () =>
      (stopping ??= (async () => {
        await http.close(Math.min(config.shutdownGraceMs, 5_000));
        await queue.close();
        await expressions.close();
        log.info('dashboard stopped');
      })()),
  };
  me.role = self;
  return self;
}
