// What every role (bridge, worker, dashboard) gets and gives back to the process runner.
import type { RedisClient } from './redis/client.js';
import type { ConfigSection, RoleConfig } from './config.js';
import type { Logger } from './lib/log.js';
import type { Registry } from './tenants/registry.js';
import type { Tracer } from './tracing/types.js';

export type RoleName = 'bridge' | 'worker' | 'dashboard';

/**
 * What a role receives. `S` names the config sections it may read besides the shared values:
 * `RoleContext<'bridge'>` for the bridge, `RoleContext<never>` for the probe server, and the
 * default (every section) for the process runner that starts them.
 */
export interface RoleContext<S extends ConfigSection = ConfigSection> {
  config: RoleConfig<S>;
  log: Logger;
  /** Shared connection for ordinary commands. Roles that block (XREADGROUP) duplicate it. */
  redis: RedisClient;
  /** Started (polling) before any role starts. */
  registry: Registry;
  now: () => number;
  /** Spans (src/tracing/): absent or the no-op tracer unless OTEL_* turns tracing on. Flushed by the runner at stop. */
  tracer?: Tracer | undefined;
}

export interface Readiness {
  ok: boolean;
  detail: string;
}

export interface RunningRole {
  /** 'health' is the small probe server that runs where the dashboard does not. */
  name: RoleName | 'health';
  ready(): Promise<Readiness>;
  /** Graceful: stop taking work, finish what is in hand (bounded by config.shutdownGraceMs). */
  stop(): Promise<void>;
}
