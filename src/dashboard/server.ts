// The dashboard role: Bull Board, the admin API, health and metrics on one port (PORT).
//   /healthz /readyz /metrics      unauthenticated (see health.ts)
//   /admin/queues/*  /admin/events  /api/*   basic auth + same-origin check on writes
//   /api/* with `Authorization: Bearer`      a tenant's API token (tenant-api/token-api.ts)
//   /portal/*                                the tenant portal, its own session (portal/router.ts)
// Every route checks the Host header against WSS_DASHBOARD_HOSTS (allowed-hosts.ts); the three
// probe routes only when authentication is off (then the server listens on 127.0.0.1 only and
// no orchestrator reaches it by a pod IP). See docs/security.md.
import { createExpressionPool } from '../expressions/pool.js';
import type { RoleContext, RunningRole } from '../roles.js';
import { createPublisher } from '../producers/sources/index.js';
import { createReplayHistory } from '../replay/history.js';
import { adminApi } from './admin-api.js';
import { publicKeysRouter } from './signing-api.js';
import { allowedHostsOnly, defaultDashboardHosts } from './allowed-hosts.js';
import { basicAuth, resolveCredentials, type Credentials } from './auth.js';
import { AuthFailureLimiter } from './auth-limiter.js';
import { BOARD_PATH, bullBoardRouter, type BullBoard } from './bull-board.js';
import { sameOriginOnly } from './csrf.js';
import { EVENTS_PATH, eventsPageRouter } from './events-page.js';
import { PortInUseError } from '../lib/errors.js';
import { startHttpRole, type RunningHttpRole } from '../probes/http-role.js';
import { announceGeneratedPassword, filePassword, type Terminal } from './password-notice.js';
import { createAccess } from '../access/access.js';
import { accessAdminRoutes } from '../tenant-api/admin-routes.js';
import { TenantDeliveries } from '../tenant-api/deliveries.js';
import { TenantEndpoints } from '../tenant-api/endpoints.js';
import { tenantRoutes } from '../tenant-api/routes.js';
import { bearerToken, tokenApi } from '../tenant-api/token-api.js';
import { PORTAL_PATH, portalRouter } from '../portal/router.js';
import type { Router } from 'express';

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

export interface RunningDashboard extends RunningHttpRole {
  credentials: Credentials;
  /** The routers behind /api and /portal, for route-list.ts (the isolation test reads them). */
  routers: { admin: Router; access: Router; tenant: Router; portal: Router };
}

/** WSS_TRUST_PROXY as express's `trust proxy` takes it. */
function trustProxy(v: string): number | string[] {
  return /^\d+$/.test(v) ? Number(v) : v.split(',').map((s) => s.trim());
}

export async function startDashboard(
  ctx: RoleContext<'dashboard'>,
  opts: DashboardOptions = {},
): Promise<RunningDashboard> {
  const { config } = ctx;
  const log = ctx.log.child({ role: 'dashboard' });
  const stderr = opts.stderr ?? process.stderr;
  let credentials = resolveCredentials(config.dashboard);
  // Without a terminal the generated password lives in a file, which a later start uses too.
  const saved =
    credentials.mode === 'basic' && credentials.generated && opts.logCredentials !== false && !stderr.isTTY
      ? await filePassword(config.dataDir, credentials.password)
      : undefined;
  if (saved && credentials.mode === 'basic') credentials = { ...credentials, password: saved.password };
  // Threads start only when an endpoint with a filter or transform is registered.
  const expressions = createExpressionPool(config, log);
  const publisher = createPublisher(config, ctx.redis, log);
  const replayFrom = createReplayHistory(config, ctx.redis);

  // The default names the port, which is only known for sure once listening (PORT=0).
  let allowedHosts =
    config.dashboard.hosts ?? defaultDashboardHosts(config.dashboard.auth, opts.port ?? config.dashboard.port);
  const hostCheck = allowedHostsOnly(() => allowedHosts);

  let bullBoard: BullBoard | undefined;
  const access = createAccess(ctx.redis, config, ctx.now);
  const routers = {} as RunningDashboard['routers'];
  const role = await startHttpRole(ctx, {
    name: 'dashboard',
    port: opts.port ?? config.dashboard.port,
    // WSS_DASHBOARD_BIND (default 127.0.0.1); without auth (meant for local use) always 127.0.0.1.
    host: config.dashboard.auth === 'off' ? '127.0.0.1' : config.dashboard.bind,
    roles: opts.roles,
    closeGraceMs: Math.min(config.shutdownGraceMs, 5_000),
    routes(app, probes, queues) {
      if (config.dashboard.trustProxy !== undefined) app.set('trust proxy', trustProxy(config.dashboard.trustProxy));
      // Operator-only, though unauthenticated for scrapers: a tenant's token is turned away.
      app.use('/metrics', (req, res, next) =>
        bearerToken(req) === undefined ? next() : void res.status(403).json({ error: 'not for tenant tokens' }),
      );
      if (config.dashboard.auth === 'off') app.use(hostCheck);
      app.use(probes);
      if (config.dashboard.auth !== 'off') app.use(hostCheck);
      app.get('/', (_req, res) => res.redirect(BOARD_PATH));
      const auth = basicAuth(credentials, undefined, { limiter: new AuthFailureLimiter(), now: ctx.now });
      bullBoard = bullBoardRouter(queues, config.queueScanMs);
      app.use(BOARD_PATH, auth, sameOriginOnly(), bullBoard.router);
      app.use(EVENTS_PATH, auth, sameOriginOnly(), eventsPageRouter());
      app.use(publicKeysRouter(ctx));
      const { portal } = config.dashboard;
      const endpoints = new TenantEndpoints({ ctx, queues, expressions, policies: access.policies, log });
      const deliveries = new TenantDeliveries({ ctx, queues, expressions, log, history: replayFrom.history });
      routers.tenant = tenantRoutes({ endpoints, deliveries });
      routers.portal = portalRouter({
        access,
        registry: ctx.registry,
        endpoints,
        deliveries,
        log,
        now: ctx.now,
        branding: { productName: portal.productName, accent: portal.accent },
        publicUrl: portal.publicUrl,
        sessionMaxMs: portal.sessionMaxMs,
      });
      app.use(PORTAL_PATH, routers.portal);
      app.use('/api', tokenApi({ routes: routers.tenant, access, registry: ctx.registry, log, now: ctx.now }));
      routers.access = accessAdminRoutes({ access, registry: ctx.registry, log, publicUrl: portal.publicUrl });
      routers.admin = adminApi({ ctx, queues, log, expressions, publisher, history: replayFrom.history });
      app.use('/api', auth, sameOriginOnly(), routers.access, routers.admin);
    },
    // Unlike WSS_HEALTH_PORT, even the default PORT does not move: people open the dashboard at
    // the address they were told, and a dashboard quietly elsewhere would leave them looking at
    // whatever holds the port. A second dashboard on one host needs a PORT of its own.
    portInUse: (err) => {
      if (opts.port !== undefined) throw err;
      const what = config.dashboard.portExplicit
        ? `PORT=${config.dashboard.port}: the port`
        : `PORT is not set and its default port ${config.dashboard.port}`;
      throw new PortInUseError(
        `${what} is already in use by another process (another dashboard on this host?); set PORT to a free port`,
        { cause: err },
      );
    },
    release: async () => {
      bullBoard?.stop();
      await expressions.close();
      await publisher.close().catch(() => undefined);
      await replayFrom.close().catch(() => undefined);
    },
    stopped: () => log.info('dashboard stopped'),
  });
  allowedHosts = config.dashboard.hosts ?? defaultDashboardHosts(config.dashboard.auth, role.port);
  const board = `${role.url}${BOARD_PATH}`;
  const hosts = allowedHosts ?? 'any';
  // Where it listens, as bound: 127.0.0.1 answers this machine only (WSS_DASHBOARD_BIND).
  log.info(
    { listen: role.bound, url: board, ...(credentials.mode === 'basic' ? { user: credentials.user } : {}), hosts },
    'dashboard listening',
  );
  if (credentials.mode === 'off') {
    log.warn(
      { url: board, hosts },
      'dashboard: authentication is OFF (WSS_DASHBOARD_AUTH=off): anyone who can reach this port can retry jobs and change endpoints; for local use only',
    );
  } else if (credentials.generated && opts.logCredentials !== false) {
    announceGeneratedPassword({
      user: credentials.user,
      password: credentials.password,
      url: board,
      dataDir: config.dataDir,
      stderr,
      log,
      saved,
    });
  }

  // The same object: the probe routes know it as this server's own role.
  return Object.assign(role, { credentials, routers });
}
