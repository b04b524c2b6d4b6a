// /healthz, /readyz and /metrics on WSS_HEALTH_PORT for processes that run no dashboard
// (bridge or worker replicas), so an orchestrator can probe and scrape every replica.
import express from 'express';
import type { Server } from 'node:http';
import { createDeliveryQueue } from '../job.js';
import type { RoleContext, RunningRole } from '../roles.js';
import { healthRouter, redisReadiness } from './health.js';
import { listen } from './listen.js';
import { createScrapeGauges } from './scrape-gauges.js';
import { securityHeaders } from './security-headers.js';

export interface HealthServerOptions {
  /** Every role in this process (this server included is fine: it leaves itself out). */
  roles: () => readonly RunningRole[];
  /** Default config.healthPort; 0 picks a free port. */
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
    http = await listen(app, opts.port ?? ctx.config.healthPort);
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
