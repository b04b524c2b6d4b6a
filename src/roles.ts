// What every role (bridge, worker, dashboard) gets and gives back to the process runner.
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Registry } from './tenants/registry.js';

export type RoleName = 'bridge' | 'worker' | 'dashboard';

export interface RoleContext {
  config: Config;
  log: Logger;
  /** Shared connection for ordinary commands. Roles that block (XREADGROUP) duplicate it. */
  redis: Redis;
  /** Started (polling) before any role starts. */
  registry: Registry;
  now: () => number;
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
