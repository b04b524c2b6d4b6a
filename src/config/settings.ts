// Every environment variable the service reads, declared once. The keys are where the value
// lands in Config; the text is what docs/configuration.md shows (`npm run docs:config`).
// A setting read by one role lives in that role's section; one read by several is shared.
import { hostname } from 'node:os';
import { setting } from './setting.js';
import {
  bool,
  duration,
  hostList,
  int,
  intList,
  listenAddress,
  oneOf,
  optionalStr,
  optionalStrWhere,
  redisClusterNodes,
  redisKey,
  redisUrl,
  secretsKeys,
  str,
} from './value-parsers.js';

/** The shortest WSS_DASHBOARD_PASSWORD accepted (the generated one has 24 characters). */
export const DASHBOARD_PASSWORD_MIN = 12;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Read by every process, or by more than one role. */
export const sharedSettings = {
  redisUrl: setting(
    'REDIS_URL',
    redisUrl,
    'Redis to use (`rediss://` for TLS). When unset, the embedded default applies (see [Two commands](../README.md#two-commands)).',
    `\`${DEFAULT_REDIS_URL}\``,
  ),
  redisClusterNodes: setting(
    'REDIS_CLUSTER_NODES',
    redisClusterNodes,
    'Seed nodes of a Redis Cluster, comma-separated (`redis://host:port,...`; `rediss://` for TLS, credentials in the URL). When set, every connection is a cluster client and `REDIS_URL` is not used.',
  ),
  redisWaitMs: setting(
    'WSS_REDIS_WAIT_MS',
    int(10_000, 100, 3_600_000),
    'How long `wss start` waits at start-up for the Redis of `REDIS_URL` (or `REDIS_CLUSTER_NODES`) to answer. Past it the process exits 1 with one line naming the variable and the address (never a password). One-off commands (`wss publish`, `wss status`, …) wait at most 5 s of it. A running process that loses Redis keeps reconnecting, however long it takes. SIGTERM during the wait ends the process at once.',
  ),
  shards: setting(
    'WSS_SHARDS',
    int(1, 1, 64),
    'How many BullMQ queues the deliveries are split into, each under its own hash tag so a Redis Cluster spreads them over its nodes. An endpoint always goes to the same shard.',
  ),
  queueScanMs: setting(
    'WSS_QUEUE_SCAN_MS',
    int(10_000, 100, 3_600_000),
    'How often workers and the dashboard look for delivery queues of another `WSS_SHARDS` (an earlier one, or a process of a rolling change) that still hold jobs: workers drain them, the dashboard lists them. See [cluster.md](cluster.md#shards-wss_shards).',
  ),
  stream: setting(
    'WSS_STREAM',
    redisKey('wss:events'),
    'The stream the bridge reads. Dead letters go to `<stream>:dead`.',
  ),
  group: setting('WSS_GROUP', redisKey('wss-bridge'), "The bridge's consumer group."),
  prefix: setting(
    'WSS_PREFIX',
    redisKey('wss'),
    'BullMQ key prefix. The registry lives under `<prefix>:{registry}:*`.',
  ),
  tenantsFile: setting(
    'TENANTS_FILE',
    optionalStr,
    'A tenants file seeded at every start with what the registry lacks: new tenants and endpoints are created, existing ones are kept as the admin API left them (`wss seed` overwrites). See [limits.md](limits.md#seeding-rule-tenants_file-at-start-vs-wss-seed).',
  ),
  allowPrivateUrls: setting(
    'WSS_ALLOW_PRIVATE_URLS',
    bool(false),
    'Allows webhook URLs that resolve to loopback, private, link-local, unique-local or unspecified addresses. When false, registration also refuses a literal private IP or `localhost` in an endpoint URL.',
  ),
  healthPort: setting(
    'WSS_HEALTH_PORT',
    int(3001, 0, 65_535),
    '`/healthz`, `/readyz` and `/metrics` for processes without the dashboard role. Left unset and taken (another replica on this host), the process listens on a free port and logs it; set and taken, start-up stops with a line naming the variable ([details](operations.md#several-processes-on-one-host)).',
  ),
  logLevel: setting(
    'LOG_LEVEL',
    oneOf(LOG_LEVELS, 'info', `expected one of ${LOG_LEVELS.join(', ')}`),
    'How much the process logs (pino levels; `silent` logs nothing).',
  ),
  shutdownGraceMs: setting(
    'WSS_SHUTDOWN_GRACE_MS',
    int(25_000, 0, 600_000),
    'How long in-flight deliveries may take to finish after SIGTERM.',
  ),
  dedupTtlMs: setting(
    'WSS_DEDUP_TTL_MS',
    int(3_600_000, 1_000, 30 * 86_400_000),
    'How long the per-job deduplication record outlives its job (see [Design notes](design.md#design-notes)).',
  ),
  registryPollMs: setting(
    'WSS_REGISTRY_POLL_MS',
    int(1_000, 50, 5_000),
    'How often a process checks the registry for changes.',
  ),
  keepCompleted: {
    count: setting(
      'WSS_KEEP_COMPLETED_COUNT',
      int(1_000, 0, 10_000_000),
      'How many completed jobs are kept, so the dashboard can show them. Failed jobs are kept until they are retried or cleaned.',
    ),
    age: setting(
      'WSS_KEEP_COMPLETED_AGE_SEC',
      int(3_600, 0, 30 * 86_400),
      'How long, in seconds, completed jobs are kept (see `WSS_KEEP_COMPLETED_COUNT`).',
    ),
  },
  dataDir: setting(
    'WSS_DATA_DIR',
    str('.data'),
    'Where the embedded redis-server keeps its data, and where a generated dashboard password is written when stderr is not a terminal.',
  ),
  maxEventBytes: setting(
    'WSS_MAX_EVENT_BYTES',
    int(262_144, 1_024, 67_108_864),
    'The largest event `data`, and the largest transformed body, in UTF-8 bytes. Larger entries are dead-lettered (kind `too_large`); `wss publish` and `POST /api/events` (413) refuse them. See [limits.md](limits.md).',
  ),
  /** Read by the bridge (trimming) and by replay (what is still kept), docs/delivery-log.md. */
  streamRetentionMs: setting(
    'WSS_STREAM_RETENTION',
    duration(86_400_000, 0, 30 * 86_400_000),
    'How long the bridge keeps stream entries after every consumer group acknowledged them, so a replay (`wss replay`, `POST /api/replay`) can send them again. It never trims unacknowledged entries. `0` trims at once. Memory: measured 275 bytes per entry with ~190 B of `data` (85 B beyond it), so 100 events/s kept 24 h take about 2.4 GB ([delivery-log.md](delivery-log.md#stream-retention-wss_stream_retention)).',
  ),
  replayMaxEvents: setting(
    'WSS_REPLAY_MAX_EVENTS',
    int(10_000, 1, 1_000_000),
    'Most events one replay (`POST /api/replay`, `wss replay`) may send; a range holding more is refused (400) and must be narrowed.',
  ),
  /** The delivery log (docs/delivery-log.md); 0 turns it off. */
  history: {
    retentionMs: setting(
      'WSS_HISTORY_RETENTION',
      duration(259_200_000, 0, 30 * 86_400_000),
      'How long the delivery log keeps what the bridge did with each event and every delivery attempt (`wss status`, `GET /api/events/:id`, search). Records go between this and 25/24 of it. `0` records nothing. See [delivery-log.md](delivery-log.md).',
    ),
    maxRecords: setting(
      'WSS_HISTORY_MAX_RECORDS',
      int(500_000, 1_000, 100_000_000),
      'Memory cap of the delivery log: most event records kept per shard, and most settled deliveries kept per endpoint for search. Under a larger load the oldest go first, before the retention. See [delivery-log.md](delivery-log.md#retention-and-memory).',
    ),
  },
  /** Filters and transforms (docs/expressions.md). */
  expr: {
    timeoutMs: setting(
      'WSS_EXPR_TIMEOUT_MS',
      int(50, 1, 60_000),
      'Deadline per filter or transform evaluation. Expressions run in worker threads. A thread stuck past twice this is terminated and replaced. See [expressions.md](expressions.md).',
    ),
    breakAfter: setting(
      'WSS_EXPR_BREAK_AFTER',
      int(5, 1, 1_000_000),
      'Expression failures in a row (timeouts, limits, errors) after which an endpoint is marked broken. Its events are then dead-lettered unevaluated until it is registered again.',
    ),
    memoryMb: setting('WSS_EXPR_MEMORY_MB', int(64, 16, 4_096), 'Old-generation heap of each expression thread.'),
    threads: setting('WSS_EXPR_THREADS', int(2, 1, 64), 'Most expression threads per process.'),
  },
  /** Keys that encrypt endpoint secrets in Redis; the first encrypts, all decrypt. */
  secretsKeys: setting(
    'WSS_SECRETS_KEY',
    secretsKeys,
    'The first key encrypts: inline endpoint secrets are stored in Redis AES-256-GCM encrypted. Unset: they are stored in the clear, as before (use `secretEnv` to keep them out of Redis). Needed for inline Ed25519 keys. See [signatures.md](signatures.md#secrets-at-rest-wss_secrets_key).',
  ),
};

export const bridgeSettings = {
  consumer: setting(
    'WSS_CONSUMER',
    { ...optionalStr, schema: optionalStr.schema.transform((v) => v ?? `${hostname()}-${process.pid}`) },
    "The consumer name within the group. Each bridge names its reader connection after it, so a dead bridge's pending entries are claimed at once by the next bridge, even under a new name ([details](operations.md#the-bridge-after-a-crash-take-over-poison-pills-readiness-durability)). Where Redis refuses `CLIENT LIST`, a stable value per replica (e.g. the pod name) lets a restarted bridge re-read its own pending entries at once.",
    '`<hostname>-<pid>`',
  ),
  batchSize: setting('WSS_BATCH_SIZE', int(500, 1, 10_000), 'Most entries per `XREADGROUP`.'),
  blockMs: setting('WSS_BLOCK_MS', int(1_000, 1, 60_000), 'How long each `XREADGROUP` blocks.'),
  claimIdleMs: setting(
    'WSS_CLAIM_IDLE_MS',
    int(60_000, 1_000, 86_400_000),
    'Entries pending longer than this in a consumer that still has a connection (a hung bridge) are claimed (see `WSS_CLAIM_INTERVAL_MS`).',
  ),
  claimIntervalMs: setting(
    'WSS_CLAIM_INTERVAL_MS',
    int(30_000, 100, 86_400_000),
    'At start and then this often, the bridge claims the pending entries of consumers that have no connection (dead bridges) at once, and those pending longer than `WSS_CLAIM_IDLE_MS` in any other consumer (a hung bridge).',
  ),
  streamTrim: setting(
    'WSS_STREAM_TRIM',
    bool(true),
    'The bridge trims stream entries that every consumer group on the stream has acknowledged, once they are older than `WSS_STREAM_RETENTION`. It never trims unacknowledged entries.',
  ),
  /** Byte budget per read; the next read's COUNT follows the last read's entry size. */
  batchBytes: setting(
    'WSS_BATCH_BYTES',
    int(8_388_608, 1_024, 1_073_741_824),
    "Byte budget per read. Each read's `COUNT` is this divided by the average entry size of the previous read, from 1 to `WSS_BATCH_SIZE`.",
  ),
  /** A stream entry delivered this many times without acknowledgement is dead-lettered (poison). */
  maxEntryDeliveries: setting(
    'WSS_MAX_ENTRY_DELIVERIES',
    int(5, 2, 1_000),
    'A stream entry delivered this many times without being acknowledged (bridges died or hung on it) is dead-lettered as `poison` and acknowledged ([details](operations.md#the-bridge-after-a-crash-take-over-poison-pills-readiness-durability)).',
  ),
  unhealthyAfterMs: setting(
    'WSS_BRIDGE_UNHEALTHY_AFTER_MS',
    int(10_000, 1_000, 86_400_000),
    'After its reads or commits have failed this long with no success (e.g. Redis answering `OOM`), `/readyz` reports the bridge not ready.',
  ),
  waitReplicas: setting(
    'WSS_WAIT_REPLICAS',
    int(0, 0, 16),
    "Before acknowledging a batch, the bridge waits (`WAIT`) until this many replicas of every master it wrote to have the batch's jobs, so a failover cannot lose jobs of acknowledged entries. A master with fewer replicas connected (after a failover) is asked for those it has; the bridge then goes on, logs a warning and counts `wss_bridge_replication_short_total`. `0` does not wait ([details](cluster.md#failover-what-can-be-lost)).",
  ),
  waitTimeoutMs: setting(
    'WSS_WAIT_TIMEOUT_MS',
    int(1_000, 1, 60_000),
    'How long each `WAIT` of `WSS_WAIT_REPLICAS` may take; past it the batch is acknowledged with what the replicas confirmed (counted as short).',
  ),
};

export const workerSettings = {
  concurrency: setting(
    'WSS_CONCURRENCY',
    int(50, 1, 10_000),
    'Deliveries in flight per worker process, shared by all the shards it consumes (not per shard).',
  ),
  shards: setting(
    'WSS_WORKER_SHARDS',
    intList(1, 64),
    'The shards this worker consumes, 1-based (`1,3`); each at most `WSS_SHARDS`. Default: every shard. Queues of another `WSS_SHARDS` that still hold jobs are drained whatever this says. See [cluster.md](cluster.md#shards-wss_shards).',
    'every shard',
  ),
  endpointConcurrency: setting(
    'WSS_ENDPOINT_CONCURRENCY',
    int(20, 1, 10_000),
    'Deliveries in flight per endpoint per worker process, so that one slow receiver cannot hold every slot (at most `WSS_CONCURRENCY`). A job over the cap goes back to the delayed set for 0.2–0.5 s and keeps its attempt. N replicas allow N × this to one endpoint: the fleet-wide cap is an endpoint field, `maxInFlight` ([endpoint-limits.md](endpoint-limits.md)).',
  ),
  stalledIntervalMs: setting(
    'WSS_STALLED_INTERVAL_MS',
    int(30_000, 100, 3_600_000),
    'How often workers look for jobs whose worker died (whose lock lapsed, see `WSS_LOCK_DURATION_MS`).',
  ),
  maxBackoffMs: setting(
    'WSS_MAX_BACKOFF_MS',
    int(7_200_000, 100, 7 * 86_400_000),
    'The longest gap between two attempts.',
  ),
  retryAfterMaxMs: setting(
    'WSS_RETRY_AFTER_MAX_MS',
    int(3_600_000, 0, 7 * 86_400_000),
    "The cap on a receiver's `Retry-After`.",
  ),
  /** How long a worker's lock on a job lasts without renewal (BullMQ renews it while the worker lives). */
  lockDurationMs: setting(
    'WSS_LOCK_DURATION_MS',
    int(30_000, 1_000, 3_600_000),
    "A worker's lock on a job in flight, renewed while the worker lives. A dead worker's jobs go to another worker once it lapses. A Redis outage shorter than ¾ of it causes no duplicate (tested: 20 s at the default). See [operations.md](operations.md#crash-recovery-and-duplicates).",
  ),
  /** A stall spends no attempt. */
  maxStalledCount: setting(
    'WSS_MAX_STALLED_COUNT',
    int(20, 0, 1_000),
    'How often a job may stall (its worker died or lost the lock) before it fails. A stall spends no attempt.',
  ),
  /** Auto-disable (docs/circuit-breaker.md); 0 turns it off. */
  disableAfterMs: setting(
    'WSS_DISABLE_AFTER',
    duration(432_000_000, 0, 365 * 86_400_000),
    'An endpoint whose deliveries have failed (timeouts, connection errors, 5xx, 408, 429) without a single success for this long is disabled; its queued jobs are kept until it is re-enabled. `0` never disables. See [circuit-breaker.md](circuit-breaker.md).',
  ),
  endpointLeaseMs: setting(
    'WSS_ENDPOINT_LEASE_MS',
    int(15_000, 1_000, 600_000),
    "How long a slot of an endpoint's `maxInFlight` is held in Redis without renewal (renewed every third of it while the request runs). A killed worker's slots come back within this. See [endpoint-limits.md](endpoint-limits.md).",
  ),
};

export const dashboardSettings = {
  port: setting(
    'PORT',
    int(3000, 0, 65_535),
    'Dashboard, admin API, health and metrics. If the port is taken, start-up stops with a line naming `PORT`, even for the default ([why](operations.md#several-processes-on-one-host)).',
  ),
  bind: setting(
    'WSS_DASHBOARD_BIND',
    listenAddress('127.0.0.1'),
    "The address the dashboard listens on (with `PORT`). The default answers only on this machine; in a container, or to reach it from other hosts, set `0.0.0.0` (the Docker image does). With `WSS_DASHBOARD_AUTH=off` only a loopback address is accepted. Processes without the dashboard serve `/healthz`, `/readyz` and `/metrics` on every interface (`WSS_HEALTH_PORT`), for orchestrators' probes.",
  ),
  user: setting(
    'WSS_DASHBOARD_USER',
    str('admin'),
    'User name for HTTP basic auth on the dashboard and the admin API (see `WSS_DASHBOARD_PASSWORD`).',
  ),
  password: setting(
    'WSS_DASHBOARD_PASSWORD',
    optionalStrWhere(
      (v) => v.length >= DASHBOARD_PASSWORD_MIN,
      `must be at least ${DASHBOARD_PASSWORD_MIN} characters`,
      `text, at least ${DASHBOARD_PASSWORD_MIN} characters`,
    ),
    'Password for HTTP basic auth on the dashboard and the admin API. When none is set, a random one is generated and never logged: on a terminal it is printed once to stderr; otherwise it is written to `<WSS_DATA_DIR>/dashboard-password` (mode 0600), whose path is logged, and later starts in that folder use the password in the file (delete it for a new one). See [security.md](security.md#dashboard-password).',
    'random',
  ),
  auth: setting(
    'WSS_DASHBOARD_AUTH',
    oneOf(['on', 'off'], 'on', 'expected "on" or "off"'),
    'Set it to `off` only for local use: the dashboard then listens on 127.0.0.1 only (`WSS_DASHBOARD_BIND` must be a loopback address), answers only to `localhost`, `127.0.0.1` and `[::1]` on its port (unless `WSS_DASHBOARD_HOSTS` says otherwise), and logs a warning.',
  ),
  /** Host[:port] names the dashboard answers to; undefined = the default for `auth`. */
  hosts: setting(
    'WSS_DASHBOARD_HOSTS',
    hostList,
    'Host names the dashboard answers to (`*` = any). Other `Host` headers get 421, against DNS rebinding. `/healthz`, `/readyz` and `/metrics` are exempt when auth is on. See [security.md](security.md#allowed-host-names-wss_dashboard_hosts).',
    "with auth off: `localhost`, `127.0.0.1`, `[::1]` on the dashboard's port; with auth on: any",
  ),
};

export const settings = {
  ...sharedSettings,
  bridge: bridgeSettings,
  worker: workerSettings,
  dashboard: dashboardSettings,
};

/** The sections of docs/configuration.md, in order. */
export const settingSections = [
  { title: 'Every process', intro: 'Read by every process, or by more than one role.', tree: sharedSettings },
  { title: 'Bridge', intro: 'Read only by the bridge role (`config.bridge`).', tree: bridgeSettings },
  { title: 'Worker', intro: 'Read only by the worker role (`config.worker`).', tree: workerSettings },
  { title: 'Dashboard', intro: 'Read only by the dashboard role (`config.dashboard`).', tree: dashboardSettings },
] as const;
