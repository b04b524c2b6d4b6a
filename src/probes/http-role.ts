// What the two HTTP roles share (the dashboard, and the health server of processes that run
// none): an express app with the security headers and the probe routes, the delivery queues the
// scrape gauges read (every shard's), listening, readiness, and one stop that closes it all.
import express, { type Express, type Router } from 'express';
import type { Server } from 'node:http';
import { DeliveryQueues } from '../queue/delivery-queues.js';
import { once } from '../lib/once.js';
import type { RoleContext, RunningRole } from '../roles.js';
import { PROBE_TIMEOUT_MS } from '../lib/timeout.js';
import { healthRouter, redisReadiness } from './health.js';
import { addressInUse, listen, type Listening } from './listen.js';
import { createScrapeGauges } from './scrape-gauges.js';
import { securityHeaders } from './security-headers.js';

interface HttpRoleOptions {
  name: 'dashboard' | 'health';
  port: number;
  /** The address to listen on (the dashboard: WSS_DASHBOARD_BIND). Default: every interface. */
  host?: string;
  /** Every role in this process, for /readyz (the server leaves itself out). Default: none but this one. */
  roles?: () => readonly RunningRole[];
  /** How long stop() lets requests in progress finish before it closes their connections. */
  closeGraceMs: number;
  /** Mounts the role's routes, and `probes` (/healthz /readyz /metrics) where its checks want them. */
  routes(app: Express, probes: Router, queues: DeliveryQueues): void;
  /**
   * When another process holds the port: listen elsewhere, or throw an error that names the
   * variable. Default: the EADDRINUSE error as it is.
   */
  portInUse?(err: unknown, app: Express): Promise<Listening>;
  /** Releases what the role holds besides the queues: on stop, and when the port cannot be bound. */
  release?(): Promise<void>;
  /** Called at the end of stop. */
  stopped?(): void;
}

export interface RunningHttpRole extends RunningRole {
  url: string;
  /** The address it listens on (listen.ts), which the logs show. */
  bound: string;
  port: number;
  server: Server;
}

export async function startHttpRole(ctx: RoleContext<never>, opts: HttpRoleOptions): Promise<RunningHttpRole> {
  // BullMQ would console.error every connection error; src/redis/client.ts already logs the outage once.
  const queues = new DeliveryQueues(ctx.redis, ctx.config.prefix, ctx.config.layout);
  // Not awaited: the HTTP role starts (and reports redis_up 0) while Redis is down.
  queues.register().catch(() => undefined);
  const gauges = createScrapeGauges(ctx.redis, queues, ctx.config);
  // Filled in once listening; the health router needs it to leave itself out of /readyz.
  const me: { role?: RunningHttpRole } = {};
  const roles = opts.roles ?? (() => (me.role ? [me.role] : []));

  const app = express();
  securityHeaders(app);
  opts.routes(app, healthRouter({ redis: ctx.redis, roles, self: () => me.role, gauges }), queues);
  const release = async () => {
    await queues.close();
    await opts.release?.();
  };

  let http;
  try {
    http = await listen(app, opts.port, opts.host).catch((err: unknown) =>
      opts.portInUse && addressInUse(err) ? opts.portInUse(err, app) : Promise.reject(err),
    );
  } catch (err) {
    await release();
    throw err;
  }
  const role: RunningHttpRole = {
    name: opts.name,
    url: http.url,
    bound: http.bound,
    port: http.port,
    server: http.server,
    ready: () => redisReadiness(ctx.redis, PROBE_TIMEOUT_MS),
    stop: once(async () => {
      await http.close(opts.closeGraceMs);
      await release();
      opts.stopped?.();
    }),
  };
  me.role = role;
  return role;
}
