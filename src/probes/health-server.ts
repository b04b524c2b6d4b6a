// /healthz, /readyz and /metrics on WSS_HEALTH_PORT for processes that run no dashboard
// (bridge or worker replicas), so an orchestrator can probe and scrape every replica.
import type { RoleContext, RunningRole } from '../roles.js';
import { startHttpRole, type RunningHttpRole } from './http-role.js';

export interface HealthServerOptions {
  /** Every role in this process (this server included is fine: it leaves itself out). */
  roles: () => readonly RunningRole[];
  /** Default config.healthPort; 0 picks a free port. */
  port?: number;
}

export type RunningHealthServer = RunningHttpRole;

export async function startHealthServer(ctx: RoleContext, opts: HealthServerOptions): Promise<RunningHealthServer> {
  const log = ctx.log.child({ role: 'health' });
  const role = await startHttpRole(ctx, {
    // Not a role of its own: the runner stops it last, once the work is handed back.
    name: 'health',
    port: opts.port ?? ctx.config.healthPort,
    roles: opts.roles,
    closeGraceMs: 1_000,
    routes(app, probes) {
      app.use(probes);
      app.use((_req, res) => {
        res.status(404).json({ error: 'not found: this port serves /healthz, /readyz and /metrics' });
      });
    },
  });
  log.info({ url: role.url }, 'health server listening (/healthz /readyz /metrics)');
  return role;
}
