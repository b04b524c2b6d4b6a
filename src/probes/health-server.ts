// /healthz, /readyz and /metrics on WSS_HEALTH_PORT for processes that run no dashboard
// (bridge or worker replicas), so an orchestrator can probe and scrape every replica.
import express from 'express';
import type { Server } from 'node:http';
import { createDeliveryQueue } from '../job.js';
import type { RoleContext, RunningRole } from '../roles.js';
import { healthRouter, redisReadiness } from './health.js';
import { PortInUseError } from '../errors.js';
import type { Logger } from '../log.js';
import { addressInUse, listen, type Listening } from './listen.js';
import { createScrapeGauges } from './scrape-gauges.js';
import { securityHeaders } from './security-headers.js';

export interface HealthServerOptions {
  /** Every role in this process (this server included is fine: it leaves itself out). */
  roles: () => readonly RunningRole[];
  /**
   * Default config.healthPort; 0 picks a free port. A port given here counts as explicit: when
   * taken, start-up stops (like an explicit WSS_HEALTH_PORT) instead of moving to a free port.
   */
  port?: number;
}

export interface RunningHealthServer extends RunningRole {
  url: string;
  port: number;
  server: Server;
}

export async function startHealthServer(ctx: RoleContext<never>, opts: HealthServerOptions): Promise<RunningHealthServer> {
  const log = ctx.log.child({ role: 'health' });
  const queue = createDeliveryQueue(ctx.redis, ctx.config.prefix);
  // BullMQ would console.error every connection error; src/redis.ts already logs the outage once.
  queue.on('error', () => {});
  const gauges = createScrapeGauges(ctx.redis, queue, ctx.config);
  // Filled in once listening; the health router needs it to leave itself out of /readyz.
  const me: { role?: RunningHealthServer } = {};

  const app = express();
  securityHeaders(app);
  app.use(healthRouter({ redis: ctx.redis, roles: opts.roles, self: () => me.role, gauges }));
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found: this port serves /healthz, /readyz and /metrics' });
  });

  let http;
  try {
    http = await listenForProbes(app, opts.port ?? ctx.config.healthPort, opts.port !== undefined || ctx.config.healthPortExplicit, log);
  } catch (err) {
    await queue.close();
    throw err;
  }
  log.info({ url: http.url }, 'health server listening (/healthz /readyz /metrics)');

  let stopping: Promise<void> | undefined;
  const self: RunningHealthServer = {
    // Not a role of its own: the runner stops it last, once the work is handed back.
    name: 'health',
    url: http.url,
    port: http.port,
    server: http.server,
    ready: () => redisReadiness(ctx.redis, 2_000),
    stop: () =>
      (stopping ??= (async () => {
        await http.close(1_000);
        await queue.close();
      })()),
  };
  me.role = self;
  return self;
}

// Replicas started side by side on one host (a bridge and two workers) all default to the same
// port. Only the default moves: nobody chose it, and each replica logs where it went. A port
// someone set is a promise to an orchestrator's probe, so a clash there stops start-up.
async function listenForProbes(app: express.Express, port: number, explicit: boolean, log: Logger): Promise<Listening> {
  try {
    return await listen(app, port);
  } catch (err) {
    if (!addressInUse(err)) throw err;
    if (explicit) {
      throw new PortInUseError(`WSS_HEALTH_PORT=${port}: the port is already in use by another process; set WSS_HEALTH_PORT to a free port (0 picks any free port)`, { cause: err });
    }
  }
  const http = await listen(app, 0);
  log.warn(
    { port: http.port, defaultPort: port },
    `health server: default port ${port} is in use (another replica on this host?), listening on port ${http.port} instead; set WSS_HEALTH_PORT to choose the port`,
  );
  return http;
}
