// Every environment variable the service reads, declared once. The keys are where the value
// lands in Config; the text is what docs/configuration.md shows (`npm run docs:config`).
// A setting read by one role lives in that role's section; one read by several is shared.
import { hostname } from 'node:os';
import { natsName, natsSubjects, natsUrl } from './nats.js';
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
  redisKey,
  secretsKeys,
  str,
} from './value-parsers.js';
import { redisClusterNodes, redisUrl } from './redis-parsers.js';
import { amqpQueue, amqpUrl } from './source-parsers.js';
import { outboxTable, pgUrl } from './outbox-parsers.js';
import {
  OTEL_SAMPLERS,
  otelExporter,
  otelProtocol,
  otlpUrl,
  resourceAttributes,
  samplerRatio,
} from './otel-parsers.js';

/** The shortest WSS_DASHBOARD_PASSWORD accepted (the generated one has 24 characters). */
export const DASHBOARD_PASSWORD_MIN = 12;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

// WSS_TRUST_PROXY: a hop count, or a list of addresses, CIDR subnets and express's names.
const TRUST_PROXY =
  /^(\d{1,2}|(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)(\s*,\s*(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?))*)$/;

/** `https://host[:port]` with nothing after it, normalised; undefined when it is not one. */
export function publicOrigin(text: string): string | undefined {
  try {
    const u = new URL(text.trim());
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** WSS_METRICS_LABELS: how much of an endpoint's identity labelled metrics keep (lib/metrics.ts). */
const METRIC_LABEL_DETAILS = ['endpoint', 'tenant', 'none'] as const;

/** The kinds of source the bridge can read (src/producers/sources/). */
export const SOURCE_KINDS = ['redis-stream', 'amqp', 'nats', 'postgres-outbox'] as const;

/**
 * Where events come from. Shared: the bridge reads the source, and every process that publishes
 * (`wss publish`, `POST /api/events`, the worker's operational events) writes to it.
 */
const sourceSettings = {
  kind: setting(
    'WSS_SOURCE',
    oneOf(SOURCE_KINDS, 'redis-stream', `expected one of ${SOURCE_KINDS.join(', ')}`),
    "Where the bridge reads events, and where `wss publish`, `POST /api/events` and operational events (`wss.endpoint.disabled`) write them. `redis-stream`: `WSS_STREAM` on the service's Redis. `amqp`: the RabbitMQ queue `WSS_AMQP_QUEUE` on `WSS_AMQP_URL` ([sources/amqp.md](sources/amqp.md)). `nats`: a JetStream stream ([sources/nats.md](sources/nats.md)). `postgres-outbox`: rows of the table `WSS_OUTBOX_TABLE` in `WSS_PG_URL`, written by the application in its own transactions ([sources/postgres-outbox.md](sources/postgres-outbox.md)).",
  ),
  /** WSS_SOURCE=amqp (src/producers/sources/amqp/). */
  amqp: {
    url: setting(
      'WSS_AMQP_URL',
      amqpUrl('amqp://127.0.0.1:5672'),
      'The RabbitMQ broker of `WSS_SOURCE=amqp`: `amqp://user:password@host:port/vhost` (`amqps://` for TLS; the default vhost `/` is `%2F`; no credentials: `guest`/`guest`). Connection options go in the query, e.g. `?heartbeat=15`. The password is never logged or shown: logs, errors and `/readyz` show `***`.',
    ),
    queue: setting(
      'WSS_AMQP_QUEUE',
      amqpQueue('wss.events'),
      'The queue the bridge consumes and `wss publish` writes to (through the default exchange). Declared durable as a **quorum** queue when absent, by the bridge and by publishers: its `x-delivery-count` is what bounds poison messages (`WSS_MAX_ENTRY_DELIVERIES`). An existing classic queue is used as it is, with a warning: it counts no deliveries, so it has no poison bound ([details](sources/amqp.md#the-queue-quorum-not-classic)).',
    ),
  },
  /** WSS_SOURCE=nats (docs/sources/nats.md). */
  nats: {
    url: setting(
      'WSS_NATS_URL',
      natsUrl,
      'The NATS server(s) with JetStream. Credentials go in the URL (`nats://user:password@host:4222`, or `nats://<token>@host:4222`); they are never logged or shown: logs, errors and `/readyz` name the server with `***` in their place. `tls://` requires TLS.',
    ),
    stream: setting(
      'WSS_NATS_STREAM',
      natsName('WSS_EVENTS'),
      'The JetStream stream the bridge reads. Created when absent (file storage, work-queue retention: a message is removed once acknowledged), with `WSS_NATS_SUBJECTS` as its subjects; an existing stream is used as it is.',
    ),
    subjects: setting(
      'WSS_NATS_SUBJECTS',
      natsSubjects('wss.events.>'),
      "The stream's subjects when the bridge creates it, and the consumer's filter when they are not all of an existing stream's subjects (several filters need nats-server 2.10). Publishers (`wss publish`, `POST /api/events`) send a tenant's event to the first one with `*` and `>` replaced by the tenant id (`wss.events.<tenant>`).",
    ),
    consumer: setting(
      'WSS_NATS_CONSUMER',
      natsName('wss-bridge'),
      'The durable pull consumer every bridge shares (explicit acks). Created when absent, reading the stream from its first message.',
    ),
    ackWaitMs: setting(
      'WSS_NATS_ACK_WAIT_MS',
      int(30_000, 1_000, 3_600_000),
      "The consumer's `ack_wait`: a message handed to a bridge and not acknowledged within it (the bridge died or hung) is delivered again, to any bridge. A bridge retrying a failed batch extends it (`+WPI`) for the messages it holds. Applied to an existing consumer at start.",
    ),
  },
  /** WSS_SOURCE=postgres-outbox (docs/sources/postgres-outbox.md). */
  postgres: {
    url: setting(
      'WSS_PG_URL',
      pgUrl,
      'The PostgreSQL database holding the outbox table (`WSS_SOURCE=postgres-outbox`); required with that source and for `wss outbox init`. Its password is never logged or shown in errors. See [sources/postgres-outbox.md](sources/postgres-outbox.md).',
    ),
    table: setting(
      'WSS_OUTBOX_TABLE',
      outboxTable('wss_outbox'),
      'The outbox table the application inserts events into and the bridge claims them from, optionally schema-qualified (`app.wss_outbox`). It is quoted in SQL; `wss outbox init` creates it.',
    ),
    keep: setting(
      'WSS_OUTBOX_KEEP',
      bool(false),
      'Keep published rows (the bridge sets `published_at` instead of deleting them), so `wss replay` and `POST /api/replay` read from the outbox. `WSS_OUTBOX_RETENTION` bounds how long they stay.',
    ),
    retentionMs: setting(
      'WSS_OUTBOX_RETENTION',
      duration(7 * 86_400_000, 0, 3_650 * 86_400_000),
      'With `WSS_OUTBOX_KEEP`: how long published rows are kept; the bridge deletes older ones every minute. `0` keeps them for ever (your own job deletes them).',
    ),
    pollMs: setting(
      'WSS_OUTBOX_POLL_MS',
      int(1_000, 10, 60_000),
      'How often an idle bridge looks for new rows without being told. Inserts wake it at once through `LISTEN`/`NOTIFY` (a trigger `wss outbox init` creates); polling is the fallback while that connection is down or a notification is lost.',
    ),
  },
};

/** Read by every process, or by more than one role. */
const sharedSettings = {
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
  metricsLabels: setting(
    'WSS_METRICS_LABELS',
    oneOf(METRIC_LABEL_DETAILS, 'endpoint', `expected one of ${METRIC_LABEL_DETAILS.join(', ')}`),
    'How many series the `{tenant,endpoint}` metrics (`wss_deliveries_total`, circuit, expression, stall and limit metrics) keep. `endpoint`: one per registered endpoint (bounded by the registry, never an event id). `tenant`: every endpoint of a tenant folded into `endpoint="*"`, for registries with many endpoints per tenant. `none`: tenants folded too (`tenant="*"`), a fixed number of series whatever the registry holds. See [observability.md](observability.md#label-cardinality).',
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
  orderingKeyTtlS: setting(
    'WSS_ORDERING_KEY_TTL_S',
    int(7 * 86_400, 60, 365 * 86_400),
    "How long, in seconds, an ordering key's sequence counter outlives its last delivery; after that an idle key holds no memory and its next event starts again at sequence 1 (see [Ordering keys](ordering.md)).",
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
  replayMaxDeliveries: setting(
    'WSS_REPLAY_MAX_DELIVERIES',
    int(20_000, 1, 10_000_000),
    'Most deliveries one replay may queue (its events times the endpoints they go to); a replay planning more is refused (400) before anything is queued: narrow the range or name one endpoint. Each queued delivery holds its body in Redis until it settles. See [delivery-log.md](delivery-log.md#replay-from-the-stream).',
  ),
  replayMaxInFlight: setting(
    'WSS_REPLAY_MAX_IN_FLIGHT',
    int(2, 1, 1_000),
    "Most replays of one tenant in flight at once: a replay counts until every delivery it queued has settled (delivered, failed or cancelled). One more is refused (429) naming the replays in flight. With `WSS_REPLAY_MAX_DELIVERIES`, this bounds a tenant's replay deliveries waiting in Redis.",
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

const bridgeSettings = {
  consumer: setting(
    'WSS_CONSUMER',
    { ...optionalStr, schema: optionalStr.schema.transform((v) => v ?? `${hostname()}-${process.pid}`) },
    "The consumer name within the group. Each bridge names its reader connection after it, so a dead bridge's pending entries are claimed at once by the next bridge, even under a new name ([details](operations.md#the-bridge-after-a-crash-take-over-poison-pills-readiness-durability)). Where Redis refuses `CLIENT LIST`, a stable value per replica (e.g. the pod name) lets a restarted bridge re-read its own pending entries at once.",
    '`<hostname>-<pid>`',
  ),
  batchSize: setting(
    'WSS_BATCH_SIZE',
    int(500, 1, 10_000),
    'Most entries per `XREADGROUP`; with `WSS_SOURCE=amqp`, most messages per batch, and the consumer prefetch is twice this (at most 65,535).',
  ),
  blockMs: setting(
    'WSS_BLOCK_MS',
    int(1_000, 1, 60_000),
    'How long each `XREADGROUP` blocks; with `WSS_SOURCE=amqp`, how long the bridge waits for a message before it looks again.',
  ),
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
    'A stream entry delivered this many times without being acknowledged (bridges died or hung on it) is dead-lettered as `poison` and acknowledged ([details](operations.md#the-bridge-after-a-crash-take-over-poison-pills-readiness-durability)). With `WSS_SOURCE=amqp`, counted by the quorum queue (`x-delivery-count`).',
  ),
  unhealthyAfterMs: setting(
    'WSS_BRIDGE_UNHEALTHY_AFTER_MS',
    int(10_000, 1_000, 86_400_000),
    'After its reads or commits have failed this long with no success (e.g. Redis answering `OOM`), `/readyz` reports the bridge not ready.',
  ),
  holdAfter: setting(
    'WSS_HOLD_AFTER',
    int(2_000, 0, 1_000_000),
    "Hold-back, with `WSS_SOURCE=redis-stream`: while an endpoint has more than this many jobs queued (counted in its tenant's fair-share rounds), the bridge leaves the further stream entries bound for it unacknowledged and reads on, so another endpoint's fresh event behind a backlog still in the stream is queued at once; the held entries go on, oldest first, once the endpoint's queue is under half of this. `0` reads strictly in order ([details](isolation.md#backlogs-still-in-the-source)).",
  ),
  holdMaxBytes: setting(
    'WSS_HOLD_MAX_BYTES',
    int(67_108_864, 1_024, 17_179_869_184),
    'Memory for entries held back (`WSS_HOLD_AFTER`). They are kept by id only, 256 bytes counted each (about 260,000 entries; the process uses more, [details](isolation.md#backlogs-still-in-the-source)). Past it the bridge reads no further ahead until some are released; it never drops one.',
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

const workerSettings = {
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

const dashboardSettings = {
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
  /** Express's `trust proxy`: undefined = off; a hop count; or addresses/subnets/names express knows. */
  trustProxy: setting(
    'WSS_TRUST_PROXY',
    optionalStrWhere(
      (v) => TRUST_PROXY.test(v.trim()),
      'expected a hop count (1) or comma-separated proxy addresses, subnets or loopback/linklocal/uniquelocal',
      'hop count, or comma-separated addresses / CIDR subnets / `loopback`, `linklocal`, `uniquelocal`',
    ),
    'The reverse proxies in front of the dashboard whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed. Used by the tenant portal and API only: the client address their login throttle counts per, and whether a request came over https (the portal cookie is then `Secure`). Unset: the peer address and the connection itself. See [portal.md](portal.md#behind-a-reverse-proxy).',
  ),
  portal: {
    publicUrl: setting(
      'WSS_PORTAL_PUBLIC_URL',
      optionalStrWhere(
        (v) => publicOrigin(v) !== undefined,
        'expected an http:// or https:// origin without a path, e.g. https://webhooks.example.com',
        '`https://host[:port]` (an origin, no path)',
      ),
      'Where customers reach the dashboard, for the portal links the admin API and `wss tenant portal-link` hand out. With `https://` the portal cookie is always `Secure`. Unset: a link names the host the request for it came to (the CLI: `http://localhost:<PORT>`).',
    ),
    linkTtlMs: setting(
      'WSS_PORTAL_LINK_TTL',
      duration(300_000, 10_000, 3_600_000),
      'How long a portal link may wait to be opened (each opens once). See [portal.md](portal.md).',
    ),
    sessionIdleMs: setting(
      'WSS_PORTAL_SESSION_IDLE',
      duration(1_800_000, 60_000, 86_400_000),
      'A portal session ends after this long without a request.',
    ),
    sessionMaxMs: setting(
      'WSS_PORTAL_SESSION_MAX',
      duration(43_200_000, 300_000, 7 * 86_400_000),
      'A portal session ends this long after its link was opened, however active.',
    ),
    productName: setting(
      'WSS_PORTAL_PRODUCT_NAME',
      {
        ...str('Webhooks'),
        schema: str('Webhooks').schema.refine(
          (v) => v.length <= 60 && ![...v].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127),
          'must be at most 60 characters, without control characters',
        ),
        values: 'text, ≤ 60 characters',
      },
      'The name the portal shows in its title and header, so it reads as part of the host product (shown as text).',
    ),
    accent: setting(
      'WSS_PORTAL_ACCENT',
      {
        ...str('#2557d6'),
        schema: str('#2557d6').schema.refine(
          (v) => /^#[0-9a-fA-F]{6}$/.test(v),
          'must be a colour as #rrggbb, e.g. #2557d6',
        ),
        values: '`#rrggbb`',
      },
      "The portal's accent colour (links, buttons, focus ring). Only `#rrggbb` is accepted, so nothing else can reach the style sheet.",
    ),
  },
  tenantRateLimit: setting(
    'WSS_TENANT_RATE_LIMIT',
    int(600, 1, 1_000_000),
    'Requests per minute each tenant may make with its API tokens and portal sessions together, counted in Redis across every dashboard replica; more get 429 with `Retry-After`.',
  ),
};

/**
 * Traces (src/tracing/, docs/observability.md): the standard OpenTelemetry variables,
 * under their standard names, read by every process. Off unless an exporter or an endpoint is
 * set; then the SDK is loaded (never before).
 */
const tracingSettings = {
  exporter: setting(
    'OTEL_TRACES_EXPORTER',
    otelExporter,
    'Where spans go. `otlp`: to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (or `OTEL_EXPORTER_OTLP_ENDPOINT`, else `http://localhost:4318`); `console`: printed to stdout (debugging); `none`: tracing off even with an endpoint set. Unset: off, unless an endpoint is set (then `otlp`). While off, no OpenTelemetry SDK module is loaded and no `traceparent` is sent. See [observability.md](observability.md#traces).',
  ),
  endpoint: setting(
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    otlpUrl,
    "The OTLP/HTTP base URL of a collector (Jaeger, Tempo, an OpenTelemetry Collector, Honeycomb's `https://api.honeycomb.io`): spans go to `<url>/v1/traces`. Setting it turns tracing on.",
  ),
  tracesEndpoint: setting(
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    otlpUrl,
    'The full OTLP/HTTP URL spans are sent to, used as it is (wins over `OTEL_EXPORTER_OTLP_ENDPOINT`). Setting it turns tracing on.',
  ),
  protocol: setting(
    'OTEL_EXPORTER_OTLP_PROTOCOL',
    otelProtocol,
    "How spans are encoded: `http/protobuf` (the standard's default) or `http/json`. `grpc` is refused: use the collector's HTTP port (4318). Headers a collector needs (e.g. Honeycomb's key) go in the standard `OTEL_EXPORTER_OTLP_HEADERS`, which the exporter reads itself.",
  ),
  serviceName: setting(
    'OTEL_SERVICE_NAME',
    str('webhook-sender'),
    'The `service.name` of every span (wins over a `service.name` in `OTEL_RESOURCE_ATTRIBUTES`).',
  ),
  resourceAttributes: setting(
    'OTEL_RESOURCE_ATTRIBUTES',
    resourceAttributes,
    'More resource attributes of every span, e.g. `deployment.environment=prod,service.namespace=webhooks`.',
  ),
  sampler: setting(
    'OTEL_TRACES_SAMPLER',
    oneOf(OTEL_SAMPLERS, 'parentbased_always_on', `expected one of ${OTEL_SAMPLERS.join(', ')}`),
    "Which traces are recorded. The `parentbased_*` samplers follow the producer's `traceparent` sampled flag when an event has one. A trace that is not sampled still carries its ids to the receiver.",
  ),
  samplerArg: setting(
    'OTEL_TRACES_SAMPLER_ARG',
    samplerRatio,
    'The ratio of `traceidratio` and `parentbased_traceidratio` (e.g. `0.1`: one trace in ten).',
  ),
};

export const settings = {
  ...sharedSettings,
  source: sourceSettings,
  tracing: tracingSettings,
  bridge: bridgeSettings,
  worker: workerSettings,
  dashboard: dashboardSettings,
};

/** The sections of docs/configuration.md, in order. */
export const settingSections = [
  { title: 'Every process', intro: 'Read by every process, or by more than one role.', tree: sharedSettings },
  {
    title: 'Source',
    intro:
      'Where events come from (`config.source`), read by every process: the bridge reads it, publishers write to it.',
    tree: sourceSettings,
  },
  {
    title: 'Tracing (OpenTelemetry)',
    intro:
      'The standard OpenTelemetry variables, under their standard names (`config.tracing`), read by every process. See [observability.md](observability.md#traces).',
    tree: tracingSettings,
  },
  { title: 'Bridge', intro: 'Read only by the bridge role (`config.bridge`).', tree: bridgeSettings },
  { title: 'Worker', intro: 'Read only by the worker role (`config.worker`).', tree: workerSettings },
  { title: 'Dashboard', intro: 'Read only by the dashboard role (`config.dashboard`).', tree: dashboardSettings },
] as const;
