// ioredis connections, to one Redis or to a Redis Cluster. BullMQ needs maxRetriesPerRequest:
// null on connections it blocks on; we use the same settings everywhere so a Redis restart, or
// a cluster failover, is ridden out, not fatal.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisClusterSeeds } from '../config/redis-parsers.js';
import { AbortedError, RedisUnavailableError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

/** A connection to one Redis or to a Redis Cluster (ioredis `Cluster`); see src/redis/shards.ts. */
export type RedisClient = Redis | Cluster;

/** Where to connect: REDIS_CLUSTER_NODES when set (cluster mode), else REDIS_URL. `Config` fits. */
interface RedisTargetSpec {
  readonly redisUrl: string;
  readonly redisClusterNodes?: RedisClusterSeeds | undefined;
}

/** Back off 50 ms, 100 ms … up to 2 s between reconnects, forever. */
const reconnectDelay = (times: number) => Math.min(times * 50, 2_000);

/**
 * Cluster client options. A failover (node timeout, then a replica's election) takes a few
 * seconds: a command aimed at the dead master is retried every `retryDelayOnFailover` and on
 * CLUSTERDOWN, and ioredis counts those retries against `maxRedirections`, so 100 × 200 ms lets
 * a command ride through about 20 s of failover before it fails (and the role's own loop retries).
 */
function clusterOptions(seeds: RedisClusterSeeds, connectionName: string): ClusterOptions {
  return {
    clusterRetryStrategy: reconnectDelay,
    enableReadyCheck: true,
    maxRedirections: 100,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    // No clusterNodeRetryStrategy: a node connection that reconnected forever would hold the
    // commands queued on a dead master instead of failing them over to its replica.
    slotsRefreshTimeout: 2_000,
    slotsRefreshInterval: 5_000,
    redisOptions: {
      maxRetriesPerRequest: null,
      connectionName,
      ...(seeds.username === undefined ? {} : { username: seeds.username }),
      ...(seeds.password === undefined ? {} : { password: seeds.password }),
      ...(seeds.tls ? { tls: {} } : {}),
    },
  };
}

function connect(spec: RedisTargetSpec | string, connectionName: string): RedisClient {
  const seeds = typeof spec === 'string' ? undefined : spec.redisClusterNodes;
  if (seeds)
    return new Cluster(
      seeds.nodes.map((n) => ({ ...n })),
      clusterOptions(seeds, connectionName),
    );
  return new Redis(typeof spec === 'string' ? spec : spec.redisUrl, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName,
    retryStrategy: reconnectDelay,
  });
}

/**
 * One connection (a cluster client in cluster mode), logging an outage once and its end. With
 * `quietUntilReady`, errors before the first ready are left to the caller (untilReady's wait):
 * a first connection is not "reconnecting".
 */
export function createRedis(
  spec: RedisTargetSpec | string,
  name: string,
  log?: Logger,
  opts: { quietUntilReady?: boolean } = {},
): RedisClient {
  const redis = connect(spec, `wss:${name}`);
  let down = opts.quietUntilReady === true;
  const onError = (err: Error) => {
    if (!down) log?.warn({ conn: name, err: err.message }, 'redis: connection error, reconnecting');
    down = true;
  };
  redis.on('error', onError);
  // A cluster reports each node's errors apart; a dead master during failover is one of them.
  if (redis instanceof Cluster) redis.on('node error', onError);
  let ready = false;
  redis.on('ready', () => {
    if (down && ready) log?.info({ conn: name }, 'redis: reconnected');
    down = false;
    ready = true;
  });
  return redis;
}

const hasCode = (err: Error) => typeof (err as { code?: unknown }).code === 'string';

/** Node's codes for a server certificate that failed its checks (chain, expiry, name). */
const CERT_CODE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

/**
 * Why no reconnect can cure `err`, or undefined for an outage worth waiting out: Redis refused
 * the credentials (WRONGPASS, NOAUTH), or the server's TLS certificate was not trusted.
 */
function fatalConnectError(err: Error): string | undefined {
  if (/^(WRONGPASS|NOAUTH)\b/.test(err.message)) return `Redis refused the credentials: ${err.message}`;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CERT_CODE.test(code))
    return `the Redis server's TLS certificate was not accepted (${err.message}); for a private CA set NODE_EXTRA_CA_CERTS=/path/to/ca.pem`;
  return undefined;
}

/** How long and how a first connection is waited for (untilReady). */
export interface ReadyWait {
  /** Give up after this long (WSS_REDIS_WAIT_MS) with a RedisUnavailableError. Default: never. */
  timeoutMs?: number;
  /** Give up at once when aborted (SIGTERM during start-up), with an AbortedError. */
  signal?: AbortSignal;
  /** Called once at the first connection error that is worth waiting out. */
  onWaiting?: (err: Error) => void;
}

/** REDIS_CLUSTER_NODES or REDIS_URL and the address without its password: what error lines name. */
export function targetLabel(spec: RedisTargetSpec): string {
  return `${spec.redisClusterNodes ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL'}: ${describeTarget(spec)}`;
}

/**
 * Until `client` is ready. An outage is waited out (as a queued command would) for at most
 * `wait.timeoutMs`; a wrong password or an untrusted certificate rejects at once. Each rejection
 * names the target without its password: without this `wss start` on a cluster waited forever,
 * a single Redis gave a bare ReplyError stack, and a closed port hung every command.
 */
export async function untilReady(client: RedisClient, spec: RedisTargetSpec, wait: ReadyWait = {}): Promise<void> {
  if (client.status === 'ready') return;
  wait.signal?.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    let last: Error | undefined;
    let done = false;
    const timer =
      wait.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            const why = last ? `: ${last.message}` : '';
            const s = wait.timeoutMs! / 1000;
            settle(new RedisUnavailableError(`Redis did not answer within ${s} s (${targetLabel(spec)})${why}`));
          }, wait.timeoutMs);
    const aborted = () => settle(new AbortedError(`stopped while waiting for Redis (${targetLabel(spec)})`));
    const settle = (err?: Error) => {
      done = true;
      clearTimeout(timer);
      wait.signal?.removeEventListener('abort', aborted);
      client.off('ready', ready);
      client.off('error', failed);
      client.off('node error', failed);
      if (err) reject(err);
      else resolve();
    };
    const ready = () => settle();
    const failed = (err: Error) => {
      if (done) return;
      const why = fatalConnectError(err);
      if (why !== undefined) return settle(new RedisUnavailableError(`${why} (${targetLabel(spec)})`));
      if (last === undefined) wait.onWaiting?.(err);
      // A socket's error (ECONNREFUSED, ENOTFOUND) says more than a cluster's own "Failed to
      // refresh slots cache." or "Connection is closed.": it is kept over them.
      if (last === undefined || hasCode(err) || !hasCode(last)) last = err;
    };
    wait.signal?.addEventListener('abort', aborted, { once: true });
    client.on('ready', ready);
    client.on('error', failed);
    // A cluster reports its nodes' connection errors apart.
    if (isCluster(client)) {
      client.on('node error', failed);
      // It learns the slots over throwaway connections whose errors it drops: a certificate
      // refused shows only as "Connection is closed.", so look at each seed directly once.
      for (const node of spec.redisClusterNodes?.nodes ?? [])
        void probeNode(node, client.options.redisOptions ?? {}).then((err) => err && failed(err));
    }
  });
}

/**
 * createRedis, then untilReady. A connection that does not get ready (a refused password or
 * certificate, no answer within the wait, or the wait aborted) is dropped at once, since QUIT
 * would wait on it, and `cleanup` runs.
 */
export async function createReadyRedis(
  spec: RedisTargetSpec,
  name: string,
  log: Logger,
  cleanup?: () => Promise<void>,
  wait: ReadyWait = {},
): Promise<RedisClient> {
  const redis = createRedis(spec, name, log, { quietUntilReady: true });
  try {
    await untilReady(redis, spec, wait);
  } catch (err) {
    redis.disconnect();
    await cleanup?.();
    throw err;
  }
  return redis;
}

/**
 * One throwaway connection attempt to one node (no retry; `options` add TLS, a password, a
 * connect timeout), then with `ping` a PING: the error met, or undefined when the node answered.
 * Used on each cluster seed (untilReady) and to see whether a Redis is up (embedded.ts).
 */
export async function probeNode(
  node: { host: string; port: number },
  options: RedisOptions = {},
  ping = false,
): Promise<Error | undefined> {
  const probe = new Redis({
    ...options,
    host: node.host,
    port: node.port,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  let first: Error | undefined;
  probe.on('error', (err: Error) => (first ??= err));
  try {
    await probe.connect();
    if (ping) {
      const reply = await probe.ping();
      if (reply !== 'PONG') return new Error(`PING answered ${reply}`);
    }
    return undefined;
  } catch (err) {
    return first ?? (err instanceof Error ? err : new Error(String(err)));
  } finally {
    probe.disconnect();
  }
}

/** True for a cluster client. */
function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * Runs `fn` on every connection that may hold data: the one Redis, or each master of a cluster
 * (node-local commands: CLIENT LIST, INFO, WAIT).
 */
export async function onEveryMaster<T>(client: RedisClient, fn: (node: Redis) => Promise<T>): Promise<T[]> {
  if (!isCluster(client)) return [await fn(client)];
  // Before the first slot map the client knows no master: wait as a queued command would.
  if (client.status !== 'ready') await new Promise((res) => client.once('ready', res));
  return Promise.all(client.nodes('master').map(fn));
}

/**
 * A new connection like `client` (the union's two `duplicate` signatures differ). Blocking
 * readers and WATCH need their own connection.
 */
export function duplicateClient(client: RedisClient, options: { connectionName?: string } = {}): RedisClient {
  if (client instanceof Cluster) {
    const copy = client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, ...options } });
    // Without a listener an unreachable node would be an unhandled 'error' event.
    copy.on('node error', () => {});
    return copy;
  }
  return client.duplicate(options);
}

/** What the logs may show of the target: never a password. */
export function describeTarget(spec: RedisTargetSpec): string {
  const seeds = spec.redisClusterNodes;
  if (seeds)
    return `cluster ${seeds.tls ? 'rediss' : 'redis'}://${seeds.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  try {
    const u = new URL(spec.redisUrl);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable)';
  }
}
