// Types of redis-procs.mjs, for the TypeScript test helpers that import it.
import type { ChildProcess } from 'node:child_process';
import type { RedisOptions } from 'ioredis';

export declare const sleep: (ms: number) => Promise<void>;

/** A free TCP port on 127.0.0.1 (free when asked; bind it soon). */
export declare function freePort(): Promise<number>;

/** Every redis-server spawned from now on goes through `hook` (the tests track them to kill them on exit). */
export declare function trackSpawns(hook: (proc: ChildProcess) => ChildProcess): void;

/** redis-server on 127.0.0.1:`port` with its files in `dir`: no snapshots, noeviction, then `args`. */
export declare function spawnRedisServer(
  port: number,
  dir: string,
  args?: string[],
  appendonly?: boolean,
): ChildProcess;

/**
 * Until the redis-server on 127.0.0.1:`port` answers PING over a connection with `conn` (`tls`,
 * `password`, …); fails early if `proc` has exited.
 */
export declare function waitForPing(
  port: number,
  proc: ChildProcess,
  conn?: RedisOptions,
  timeoutMs?: number,
): Promise<void>;

export interface ClusterNode {
  port: number;
  dir: string;
  proc: ChildProcess;
}

/** kill -9 of one node, resolved once it is gone (at once if it already is). */
export declare function killNode(node: ClusterNode): Promise<void>;

export interface ClusterNodesOptions {
  masters?: number;
  /** Replicas per master. */
  replicas?: number;
  /** --cluster-node-timeout (default 1 s). */
  nodeTimeoutMs?: number;
  /** More redis-server arguments for the node on `port` (TLS, a password, tuning). */
  nodeArgs?: (port: number) => string[];
  /** More `redis-cli --cluster create` arguments (`--tls`, `-a`). */
  cliArgs?: string[];
  /** What this module's own connections need (`tls`, `password`). */
  conn?: RedisOptions;
  /** Temp dir name prefix. */
  tmpPrefix?: string;
  /** Called once per node as soon as its process is spawned. */
  onSpawn?: (node: ClusterNode) => void;
}

export interface ClusterNodes {
  nodes: ClusterNode[];
  /** kill -9 of every node still running; removes their dirs. */
  stop(): Promise<void>;
}

/**
 * `masters` × (1 + `replicas`) cluster-enabled nodes on free ports, joined by `redis-cli --cluster
 * create`; resolves once every node reports cluster_state:ok and every replica has synced.
 */
export declare function startClusterNodes(opts?: ClusterNodesOptions): Promise<ClusterNodes>;
