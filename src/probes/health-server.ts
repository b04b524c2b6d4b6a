// /healthz, /readyz and /metrics on WSS_HEALTH_PORT for processes that run no dashboard
// (bridge or worker replicas), so an orchestrator can probe and scrape every replica.
import type { Express } from 'express';
import { PortInUseError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { RoleContext, RunningRole } from '../roles.js';
import { startHttpRole, type RunningHttpRole } from './http-role.js';
import { listen, type Listening } from './listen.js';

interface HealthServerOptions {
  /** Every role in this process (this server included is fine: it leaves itself out). */
  roles: () => readonly RunningRole[];
  /**
   * Default config.healthPort; 0 picks a free port. A port given here counts as explicit: when
   * taken, start-up stops (like an explicit WSS_HEALTH_PORT) instead of moving to a free port.
   */
  port?: number;
}

export type RunningHealthServer = RunningHttpRole;

export async function startHealthServer(
  ctx: RoleContext<never>,
  opts: HealthServerOptions,
): Promise<RunningHealthServer> {
  const log = ctx.log.child({ role: 'health' });
  const port = opts.port ?? ctx.config.healthPort;
  const role = await startHttpRole(ctx, {
    // Not a role of its own: the runner stops it last, once the work is handed back.
    name: 'health',
    port,
    roles: opts.roles,
    closeGraceMs: 1_000,
    routes(app, probes) {
      app.use(probes);
      app.use((_req, res) => {
        res.status(404).json({ error: 'not found: this port serves /healthz, /readyz and /metrics' });
      });
    },
    portInUse: (err, app) => elsewhere(app, port, opts.port !== undefined || ctx.config.healthPortExplicit, log, err),
  });
  // `listen` says where it is bound (every interface), `url` how this machine reaches it.
  log.info({ listen: role.bound, url: role.url }, 'health server listening (/healthz /readyz /metrics)');
  return role;
}

// Replicas started side by side on one host (a bridge and two workers) all default to the same
// port. Only the default moves: nobody chose it, and each replica logs where it went. A port
// someone set is a promise to an orchestrator's probe, so a clash there stops start-up.
async function elsewhere(app: Express, port: number, explicit: boolean, log: Logger, err: unknown): Promise<Listening> {
  if (explicit) {
    throw new PortInUseError(
      `WSS_HEALTH_PORT=${port}: the port is already in use by another process; set WSS_HEALTH_PORT to a free port (0 picks any free port)`,
      { cause: err },
    );
  }
  const http = await listen(app, 0);
  log.warn(
    { port: http.port, defaultPort: port },
    `health server: default port ${port} is in use (another replica on this host?), listening on port ${http.port} instead; set WSS_HEALTH_PORT to choose the port`,
  );
  return http;
}
