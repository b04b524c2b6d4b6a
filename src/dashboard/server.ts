// The dashboard role: Bull Board, the admin API, health and metrics on one port (PORT).
//   /healthz /readyz /metrics      unauthenticated (see health.ts)
//   /admin/queues/*  /api/*        basic auth + same-origin check on writes
// Every route checks the Host header against WSS_DASHBOARD_HOSTS (allowed-hosts.ts); the three
// probe routes only when authentication is off (then the server listens on 127.0.0.1 only and
// no orchestrator reaches it by a pod IP). See docs/security.md.
import express from 'express';
import type { Server } from 'node:http';
import { createDeliveryQueue } from '../job.js';
import { createExpressionPool } from '../tenants/expression-trial.js';
import type { RoleContext, RunningRole } from '../roles.js';
import { adminApi } from './admin-api.js';
import { publicKeysRouter } from './signing-api.js';
import { allowedHostsOnly, defaultDashboardHosts } from './allowed-hosts.js';
import { basicAuth, resolveCredentials, type Credentials } from './auth.js';
import { AuthFailureLimiter } from './auth-limiter.js';
import { BOARD_PATH, bullBoardRouter } from './bull-board.js';
import { sameOriginOnly } from './csrf.js';
import { healthRouter, redisReadiness } from '../probes/health.js';
import { addressInUse, listen } from '../probes/listen.js';
import { PortInUseError } from '../errors.js';
import { announceGeneratedPassword, type Terminal } from './password-notice.js';
import { createScrapeGauges } from '../probes/scrape-gauges.js';

export interface DashboardOptions {
  /** Default config.dashboard.port; 0 picks a free port (tests). */
  port?: number;
  /** Every role in this process, for /readyz. Default: just this one. */
  roles?: () => readonly RunningRole[];
  /** Announce a generated password (default true): once on a terminal, else in a file (password-notice.ts). */
  logCredentials?: boolean;
  /** Where a generated password is shown when it is a terminal; default process.stderr. */
  stderr?: Terminal;
}

export interface RunningDashboard extends RunningRole {
  url: string;
  port: number;
  server: Server;
  credentials: Credentials;
}

export { securityHeaders } from '../probes/security-headers.js';
import { securityHeaders } from '../probes/security-headers.js';

export async function startDashboard(ctx: RoleContext<'dashboard'>, opts: DashboardOptions = {}): Promise<RunningDashboard> {
  const { config } = ctx;
  const log = ctx.log.child({ role: 'dashboard' });
  const credentials = resolveCredentials(config.dashboard);
  const queue = createDeliveryQueue(ctx.redis, config.prefix);
  // BullMQ would console.error every connection error; src/redis.ts already logs the outage once.
  queue.on('error', () => {});
  const gauges = createScrapeGauges(ctx.redis, queue, config);
  // Threads start only when an endpoint with a filter or transform is registered.
  const expressions = createExpressionPool(config, log);
  // Filled in once listening; the health router needs it to leave itself out of /readyz.
  const me: { role?: RunningDashboard } = {};

  // The default names the port, which is only known for sure once listening (PORT=0).
  let allowedHosts = config.dashboard.hosts ?? defaultDashboardHosts(config.dashboard.auth, opts.port ?? config.dashboard.port);
  const hostCheck = allowedHostsOnly(() => allowedHosts);

  const app = express();
  securityHeaders(app);
  if (config.dashboard.auth === 'off') app.use(hostCheck);
  app.use(healthRouter({ redis: ctx.redis, roles: opts.roles ?? (() => (me.role ? [me.role] : [])), self: () => me.role, gauges }));
  if (config.dashboard.auth !== 'off') app.use(hostCheck);
  app.get('/', (_req, res) => res.redirect(BOARD_PATH));
  const auth = basicAuth(credentials, undefined, { limiter: new AuthFailureLimiter(), now: ctx.now });
  app.use(BOARD_PATH, auth, sameOriginOnly(), bullBoardRouter(queue, config.prefix));
  app.use(publicKeysRouter(ctx));
  app.use('/api', auth, sameOriginOnly(), adminApi({ ctx, queue, log, expressions }));

  let http;
  try {
    // Without auth (WSS_DASHBOARD_AUTH=off, meant for local use) only this machine may connect.
    http = await listen(app, opts.port ?? config.dashboard.port, config.dashboard.auth === 'off' ? '127.0.0.1' : undefined);
  } catch (err) {
    await queue.close();
    await expressions.close();
    // Unlike WSS_HEALTH_PORT, even the default PORT does not move: people open the dashboard at
    // the address they were told, and a dashboard quietly elsewhere would leave them looking at
    // whatever holds the port. A second dashboard on one host needs a PORT of its own.
    if (addressInUse(err) && opts.port === undefined) {
      const what = config.dashboard.portExplicit ? `PORT=${config.dashboard.port}: the port` : `PORT is not set and its default port ${config.dashboard.port}`;
      throw new PortInUseError(`${what} is already in use by another process (another dashboard on this host?); set PORT to a free port`, { cause: err });
    }
    throw err;
  }
  allowedHosts = config.dashboard.hosts ?? defaultDashboardHosts(config.dashboard.auth, http.port);
  const board = `${http.url}${BOARD_PATH}`;
  const hosts = allowedHosts ?? 'any';
  if (credentials.mode === 'off') {
    log.warn({ url: board, hosts }, 'dashboard: authentication is OFF (WSS_DASHBOARD_AUTH=off): anyone who can reach this port can retry jobs and change endpoints; for local use only');
  } else if (credentials.generated && opts.logCredentials !== false) {
    await announceGeneratedPassword({ user: credentials.user, password: credentials.password, url: board, dataDir: config.dataDir, stderr: opts.stderr ?? process.stderr, log });
  } else {
    log.info({ url: board, user: credentials.user, hosts }, 'dashboard listening');
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
