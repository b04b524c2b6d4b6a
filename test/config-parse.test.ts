import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { parseConfig, roleConfig, sharedConfig } from '../src/config.js';
import { configurationMarkdown } from '../src/config/docs-table.js';
import { settingsOf } from '../src/config/setting.js';
import { settingSections, settings } from '../src/config/settings.js';
import { ConfigError } from '../src/lib/errors.js';

describe('parseConfig', () => {
  it('applies the documented defaults and freezes the result', () => {
    const c = parseConfig({});
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.redisUrlExplicit).toBe(false);
    expect(c.stream).toBe('wss:events');
    expect(c.deadLetterStream).toBe('wss:events:dead');
    expect(c.group).toBe('wss-bridge');
    expect(c.prefix).toBe('wss');
    expect(c.worker.concurrency).toBe(50);
    expect(c.allowPrivateUrls).toBe(false);
    expect(c.dashboard.port).toBe(3000);
    expect(c.logLevel).toBe('info');
    expect(c.shutdownGraceMs).toBe(25_000);
    expect(c.bridge.consumer).toMatch(/-\d+$/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads explicit values', () => {
    const c = parseConfig({
      REDIS_URL: 'redis://r:6380/2',
      WSS_CONCURRENCY: '8',
      WSS_ALLOW_PRIVATE_URLS: 'true',
      LOG_LEVEL: 'debug',
      WSS_CONSUMER: 'c1',
    });
    expect(c).toMatchObject({
      redisUrl: 'redis://r:6380/2',
      redisUrlExplicit: true,
      allowPrivateUrls: true,
      logLevel: 'debug',
      worker: { concurrency: 8 },
      bridge: { consumer: 'c1' },
    });
  });

  it.each([
    ['WSS_CONCURRENCY', 'lots'],
    ['WSS_CONCURRENCY', '0'],
    ['PORT', '70000'],
    ['WSS_ALLOW_PRIVATE_URLS', 'maybe'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['REDIS_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['WSS_DASHBOARD_AUTH', 'disabled'],
    ['WSS_DASHBOARD_PASSWORD', 'short-pw-11'],
    ['WSS_DASHBOARD_HOSTS', 'dash.internal, evil host'],
    ['WSS_DASHBOARD_HOSTS', 'http://dash.internal'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    let err: unknown;
    try {
      parseConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(name);
    expect((err as ConfigError).problems).toHaveLength(1);
  });

  it('accepts a dashboard password of 12 characters and a list of dashboard hosts', () => {
    expect(parseConfig({ WSS_DASHBOARD_PASSWORD: 'twelve-chars' }).dashboard.password).toBe('twelve-chars');
    expect(parseConfig({}).dashboard.hosts).toBeUndefined();
    expect(parseConfig({ WSS_DASHBOARD_HOSTS: ' Dash.Internal:8080, 10.0.0.5,[::1]:3000 ,' }).dashboard.hosts).toEqual([
      'dash.internal:8080',
      '10.0.0.5',
      '[::1]:3000',
    ]);
    expect(parseConfig({ WSS_DASHBOARD_HOSTS: '*' }).dashboard.hosts).toEqual(['*']);
  });

  it('names every bad variable at once', () => {
    expect(() => parseConfig({ PORT: 'x', WSS_CONCURRENCY: 'y' })).toThrow(
      /PORT.*WSS_CONCURRENCY|WSS_CONCURRENCY.*PORT/,
    );
  });

  it('reads the expression limits (docs/expressions.md), with their defaults', () => {
    expect(parseConfig({}).expr).toEqual({ timeoutMs: 50, breakAfter: 5, memoryMb: 64, threads: 2 });
    expect(
      parseConfig({
        WSS_EXPR_TIMEOUT_MS: '200',
        WSS_EXPR_BREAK_AFTER: '2',
        WSS_EXPR_MEMORY_MB: '128',
        WSS_EXPR_THREADS: '1',
      }).expr,
    ).toEqual({ timeoutMs: 200, breakAfter: 2, memoryMb: 128, threads: 1 });
    expect(() => parseConfig({ WSS_EXPR_TIMEOUT_MS: '0' })).toThrow(/WSS_EXPR_TIMEOUT_MS/);
    expect(() => parseConfig({ WSS_EXPR_MEMORY_MB: '1' })).toThrow(/WSS_EXPR_MEMORY_MB/);
  });

  it('reads WSS_DISABLE_AFTER as milliseconds or with a unit (default 5 days, 0 = never)', () => {
    expect(parseConfig({}).worker.disableAfterMs).toBe(5 * 86_400_000);
    const ms = (v: string) => parseConfig({ WSS_DISABLE_AFTER: v }).worker.disableAfterMs;
    expect([ms('90000'), ms('90s'), ms('1.5m'), ms('2h'), ms('3d'), ms('250ms'), ms('0')]).toEqual([
      90_000,
      90_000,
      90_000,
      7_200_000,
      3 * 86_400_000,
      250,
      0,
    ]);
    for (const bad of ['5 days', '-1d', 'soon', '400d'])
      expect(() => parseConfig({ WSS_DISABLE_AFTER: bad })).toThrow(/WSS_DISABLE_AFTER/);
  });
});

describe('each setting declared once (src/config/settings.ts)', () => {
  const all = settingsOf(settings);

  it('keeps every variable name, each once and documented', () => {
    expect(all.map((s) => s.env).sort()).toEqual([
      'LOG_LEVEL',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_RESOURCE_ATTRIBUTES',
      'OTEL_SERVICE_NAME',
      'OTEL_TRACES_EXPORTER',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
      'PORT',
      'REDIS_CLUSTER_NODES',
      'REDIS_URL',
      'TENANTS_FILE',
      'WSS_ALLOW_PRIVATE_URLS',
      'WSS_AMQP_QUEUE',
      'WSS_AMQP_URL',
      'WSS_BATCH_BYTES',
      'WSS_BATCH_SIZE',
      'WSS_BLOCK_MS',
      'WSS_BRIDGE_UNHEALTHY_AFTER_MS',
      'WSS_CLAIM_IDLE_MS',
      'WSS_CLAIM_INTERVAL_MS',
      'WSS_CONCURRENCY',
      'WSS_CONSUMER',
      'WSS_DASHBOARD_AUTH',
      'WSS_DASHBOARD_BIND',
      'WSS_DASHBOARD_HOSTS',
      'WSS_DASHBOARD_PASSWORD',
      'WSS_DASHBOARD_USER',
      'WSS_DATA_DIR',
      'WSS_DEDUP_TTL_MS',
      'WSS_DISABLE_AFTER',
      'WSS_ENDPOINT_CONCURRENCY',
      'WSS_ENDPOINT_LEASE_MS',
      'WSS_EXPR_BREAK_AFTER',
      'WSS_EXPR_MEMORY_MB',
      'WSS_EXPR_THREADS',
      'WSS_EXPR_TIMEOUT_MS',
      'WSS_GROUP',
      'WSS_HEALTH_PORT',
      'WSS_HISTORY_MAX_RECORDS',
      'WSS_HISTORY_RETENTION',
      'WSS_HOLD_AFTER',
      'WSS_HOLD_MAX_BYTES',
      'WSS_KEEP_COMPLETED_AGE_SEC',
      'WSS_KEEP_COMPLETED_COUNT',
      'WSS_LOCK_DURATION_MS',
      'WSS_MAX_BACKOFF_MS',
      'WSS_MAX_ENTRY_DELIVERIES',
      'WSS_MAX_EVENT_BYTES',
      'WSS_MAX_STALLED_COUNT',
      'WSS_METRICS_LABELS',
      'WSS_NATS_ACK_WAIT_MS',
      'WSS_NATS_CONSUMER',
      'WSS_NATS_STREAM',
      'WSS_NATS_SUBJECTS',
      'WSS_NATS_URL',
      'WSS_ORDERING_KEY_TTL_S',
      'WSS_OUTBOX_KEEP',
      'WSS_OUTBOX_POLL_MS',
      'WSS_OUTBOX_RETENTION',
      'WSS_OUTBOX_TABLE',
      'WSS_PG_URL',
      'WSS_PORTAL_ACCENT',
      'WSS_PORTAL_LINK_TTL',
      'WSS_PORTAL_PRODUCT_NAME',
      'WSS_PORTAL_PUBLIC_URL',
      'WSS_PORTAL_SESSION_IDLE',
      'WSS_PORTAL_SESSION_MAX',
      'WSS_PREFIX',
      'WSS_QUEUE_SCAN_MS',
      'WSS_REDIS_WAIT_MS',
      'WSS_REGISTRY_POLL_MS',
      'WSS_REPLAY_MAX_DELIVERIES',
      'WSS_REPLAY_MAX_EVENTS',
      'WSS_REPLAY_MAX_IN_FLIGHT',
      'WSS_RETRY_AFTER_MAX_MS',
      'WSS_SECRETS_KEY',
      'WSS_SHARDS',
      'WSS_SHUTDOWN_GRACE_MS',
      'WSS_SOURCE',
      'WSS_STALLED_INTERVAL_MS',
      'WSS_STREAM',
      'WSS_STREAM_RETENTION',
      'WSS_STREAM_TRIM',
      'WSS_TENANT_RATE_LIMIT',
      'WSS_TRUST_PROXY',
      'WSS_WAIT_REPLICAS',
      'WSS_WAIT_TIMEOUT_MS',
      'WSS_WORKER_SHARDS',
    ]);
    for (const s of all) expect(s.schema.description, s.env).toMatch(/\S{3}/);
    // The docs sections cover every setting exactly once.
    expect(
      settingSections
        .flatMap((sec) => settingsOf(sec.tree))
        .map((s) => s.env)
        .sort(),
    ).toEqual(all.map((s) => s.env).sort());
  });

  it('docs/configuration.md is what `npm run docs:config` generates from the settings', () => {
    const committed = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    // On failure: run `npm run docs:config` and commit docs/configuration.md.
    expect(committed).toBe(configurationMarkdown());
    for (const s of all) expect(committed).toContain(`| \`${s.env}\` |`);
  });

  it('shows the defaults and ranges that parsing applies', () => {
    const doc = configurationMarkdown();
    expect(doc).toContain('| `WSS_BATCH_SIZE` | `500` | integer 1–10000 |');
    expect(doc).toContain('| `WSS_STREAM_TRIM` | `true` |');
    expect(doc).toContain('| `WSS_DASHBOARD_PASSWORD` | random | text, at least 12 characters |');
    expect(parseConfig({}).bridge.batchSize).toBe(500);
    expect(() => parseConfig({ WSS_BATCH_SIZE: '10001' })).toThrow(
      'WSS_BATCH_SIZE: expected an integer from 1 to 10000, got "10001"',
    );
  });

  it('freezes every section', () => {
    const c = parseConfig({});
    for (const part of [c, c.bridge, c.worker, c.dashboard, c.expr, c.keepCompleted])
      expect(Object.isFrozen(part)).toBe(true);
  });

  it('caps the per-endpoint concurrency at the worker concurrency', () => {
    expect(parseConfig({ WSS_CONCURRENCY: '8', WSS_ENDPOINT_CONCURRENCY: '30' }).worker.endpointConcurrency).toBe(8);
    expect(parseConfig({}).worker).toMatchObject({ concurrency: 50, endpointConcurrency: 20 });
  });
});

describe('roleConfig', () => {
  const c = parseConfig({ WSS_BATCH_SIZE: '7', WSS_CONCURRENCY: '3', PORT: '4000' });

  it('hands a role the shared values and its own section only', () => {
    const bridge = roleConfig(c, 'bridge');
    expect(bridge.bridge.batchSize).toBe(7);
    expect(bridge).toMatchObject({
      stream: 'wss:events',
      prefix: 'wss',
      group: 'wss-bridge',
      deadLetterStream: 'wss:events:dead',
    });
    // @ts-expect-error typecheck proves the bridge cannot read the worker's section
    expect(bridge.worker).toBeUndefined();
    // @ts-expect-error nor the dashboard's
    expect(bridge.dashboard).toBeUndefined();
    expect(Object.isFrozen(bridge)).toBe(true);

    const worker = roleConfig(c, 'worker');
    expect(worker.worker.concurrency).toBe(3);
    expect(Object.keys(worker).filter((k) => ['bridge', 'worker', 'dashboard'].includes(k))).toEqual(['worker']);
    expect(roleConfig(c, 'dashboard').dashboard.port).toBe(4000);

    const shared = sharedConfig(c);
    expect(Object.keys(shared).filter((k) => ['bridge', 'worker', 'dashboard'].includes(k))).toEqual([]);
    expect(shared.healthPort).toBe(3001);
  });
});

// The roles' start functions take only their part; typecheck (npm run typecheck) enforces these.
type ConfigOf<F> = F extends (ctx: infer C, ...rest: never[]) => unknown
  ? C extends { config: infer K }
    ? K
    : never
  : never;
type BridgeStart = typeof import('../src/producers/bridge.js').startBridge;
type WorkerStart = typeof import('../src/workers/worker.js').startWorker;
type DashboardStart = typeof import('../src/dashboard/server.js').startDashboard;
type HealthStart = typeof import('../src/probes/health-server.js').startHealthServer;

describe('role start functions', () => {
  it('each accepts the shared values and its own section only', () => {
    expectTypeOf<ConfigOf<BridgeStart>>().toHaveProperty('bridge');
    expectTypeOf<ConfigOf<BridgeStart>>().not.toHaveProperty('worker');
    expectTypeOf<ConfigOf<BridgeStart>>().not.toHaveProperty('dashboard');
    expectTypeOf<ConfigOf<WorkerStart>>().toHaveProperty('worker');
    expectTypeOf<ConfigOf<WorkerStart>>().not.toHaveProperty('bridge');
    expectTypeOf<ConfigOf<WorkerStart>>().not.toHaveProperty('dashboard');
    expectTypeOf<ConfigOf<DashboardStart>>().toHaveProperty('dashboard');
    expectTypeOf<ConfigOf<DashboardStart>>().not.toHaveProperty('bridge');
    expectTypeOf<ConfigOf<DashboardStart>>().not.toHaveProperty('worker');
    expectTypeOf<ConfigOf<HealthStart>>().toHaveProperty('prefix');
    expectTypeOf<ConfigOf<HealthStart>>().not.toHaveProperty('dashboard');
  });
});

describe('WSS_SOURCE', () => {
  it('defaults to the Redis Stream and refuses an unknown source, naming the variable', () => {
    expect(parseConfig({}).source.kind).toBe('redis-stream');
    expect(() => parseConfig({ WSS_SOURCE: 'kafka' })).toThrow(
      /WSS_SOURCE: expected one of redis-stream, amqp, nats, postgres-outbox/,
    );
  });
});
