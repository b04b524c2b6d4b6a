#!/usr/bin/env -S node --max-semi-space-size=4
// `wss`: start the service, seed tenants, publish an event, compute a signature.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getConfig, type Config } from './config.js';
import {
  AbortedError,
  ConfigError,
  errorMessage,
  TenantsValidationError,
  UnknownTenantError,
  UsageError,
  WssError,
} from './lib/errors.js';
import { createLogger, drainLogs, type Logger } from './lib/log.js';
import type { RoleName } from './roles.js';
import { sign } from './signing/sign.js';
import { ALL_ROLES, startService, type Service } from './cli/start.js';
import { loadCheckedTenantsFile, withRegistry } from './cli/common.js';
import { countChanges, describeChanges } from './tenants/seed-plan.js';
import { VERSION } from './lib/version.js';
import { escapeControls as x, escapeControlsByLine as lines } from './lib/terminal.js';

const USAGE = `webhook-sender ${VERSION}

Usage:
  wss start [--role bridge|worker|dashboard|all]...   run the service (default: all roles)
  wss seed <tenants.json> [--replace] [--force]       validate a tenants file and load it into Redis;
                                                      prints what changed per endpoint; --force to
                                                      replace a stored (e.g. rotated) secret
  wss publish --tenant T --type E --data '<json>' [--id ID] [--priority high|normal|low] [--ordering-key K]
              [--traceparent TP [--tracestate TS]] [--no-check]
                                                      add one event to the source (WSS_SOURCE); an
                                                      unknown tenant is refused unless --no-check
  wss outbox init [--print]                           create the PostgreSQL outbox table, index and
                                                      trigger (idempotent); --print: show the SQL
  wss sign --secret S --timestamp T [--file BODY]     print the X-WSS-Signature for a body
                                                      (reads the body from stdin without --file)
  wss rotate-secret --tenant T --endpoint E [--secret S | --secret-env NAME] [--overlap 24h]
                                                      rotate an endpoint's secret; the old one is
                                                      still sent during the overlap (max 7d)
  wss secrets reencrypt                               re-encrypt every stored secret with the first
                                                      WSS_SECRETS_KEY key
  wss recover --tenant T --endpoint E --since 2h [--dry-run] [--json]
  wss ordering blocked [--tenant T] [--endpoint E] | wss ordering skip <jobId>
                                                      put the endpoint's failed deliveries since then
                                                      back in the queue (re-signed, same body and id)
  wss replay --tenant T [--endpoint E] --from 2h [--to now] [--dry-run] [--json]
                                                      send the events of that range again from the
                                                      stream, with X-WSS-Replay: true
  wss status <eventId> [--tenant T] [--json]          what happened to an event: the bridge, each
                                                      endpoint's state and every attempt
  wss deliveries --tenant T [--endpoint E] [--state delivered|failed|cancelled]
                 [--since 2h] [--until ISO] [--limit 50] [--cursor C] [--json]
                                                      settled deliveries, newest first
  wss tenant token create --tenant T [--name N] [--expires 30d] [--read-only] [--json]
                                                      a tenant API token, printed once
  wss tenant token list --tenant T [--json]           the tenant's tokens, without secrets
  wss tenant token revoke --tenant T --id TOKEN_ID    stops the token at once
  wss tenant portal-link --tenant T [--read-only]     a single-use link to the tenant portal
  wss tenant access --tenant T [--allow-private-urls true|false] [--allow-expressions true|false]
                                                      what the tenant may register beyond the default

Configuration is read from the environment; see docs/configuration.md.`;

const SEE_HELP = "run 'wss --help' for the usage";

function parseRoles(values: string[] | undefined): RoleName[] {
  if (!values || values.length === 0) return [...ALL_ROLES];
  const roles = new Set<RoleName>();
  for (const v of values.flatMap((x) => x.split(','))) {
    if (v === 'all') ALL_ROLES.forEach((r) => roles.add(r));
    else if ((ALL_ROLES as readonly string[]).includes(v)) roles.add(v as RoleName);
    else throw new UsageError(`unknown role "${v}" (expected bridge, worker, dashboard or all)`);
  }
  return [...roles];
}

async function cmdStart(args: string[], config: Config, log: Logger): Promise<void> {
  const { values } = parseArgs({ args, options: { role: { type: 'string', multiple: true } }, strict: true });
  const roles = parseRoles(values.role);
  // Handlers go in before start-up so a SIGTERM during it still ends the process: it aborts the
  // wait for Redis at once, and a stage that does not stop is cut off after the grace period.
  const state: { service?: Service; stopRequested: boolean } = { stopRequested: false };
  const starting = new AbortController();
  let startWatchdog: NodeJS.Timeout | undefined;
  let signals = 0;
  const watchdog = (ms: number) =>
    // A last resort if something ignores the grace period (e.g. a hung socket).
    setTimeout(() => {
      log.error('shutdown took too long: exiting');
      process.exit(1);
    }, ms).unref();
  const stopNow = (svc: Service) => {
    watchdog(config.shutdownGraceMs + 15_000);
    return svc.stop().then(
      () => drainLogs().then(() => process.exit(0)),
      (err: unknown) => {
        log.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn({ signal: sig }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal: sig, graceMs: config.shutdownGraceMs }, 'shutting down gracefully');
    state.stopRequested = true;
    if (state.service) return void stopNow(state.service);
    starting.abort();
    startWatchdog = watchdog(config.shutdownGraceMs);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    state.service = await startService(config, roles, log, { signal: starting.signal });
  } catch (err) {
    if (!(state.stopRequested && err instanceof AbortedError)) throw err;
    log.info({ reason: err.message }, 'webhook-sender stopped during start-up');
    await drainLogs();
    process.exit(0);
  }
  // Started after all: the stop below has its own, longer, watchdog.
  clearTimeout(startWatchdog);
  if (state.stopRequested) void stopNow(state.service);
}

async function cmdSeed(args: string[], config: Config, log: Logger): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { replace: { type: 'boolean', default: false }, force: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('wss seed needs exactly one tenants file');
  const file = await loadCheckedTenantsFile(positionals[0]!, config, (m) =>
    process.stderr.write(`note: secretEnv is not set here (workers must have it): ${x(m)}\n`),
  );
  const report = await withRegistry(config, log, (registry) =>
    registry.seed(file, { replace: values.replace, force: values.force }),
  );
  // Every endpoint it changed, and how: a seed must not undo anything unseen (a rotation).
  for (const line of describeChanges(report.changes)) process.stdout.write(`${x(line)}\n`);
  const n = countChanges(report.changes);
  process.stdout.write(
    `seeded ${report.tenants} tenant(s), ${report.endpoints} endpoint(s)${values.replace ? ' (registry replaced)' : ''}: ${n.created} created, ${n.updated} updated, ${n.unchanged} unchanged${values.replace ? `, ${n.removed} removed` : ''}\n`,
  );
}

async function cmdPublish(args: string[], config: Config, log: Logger): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      tenant: { type: 'string' },
      type: { type: 'string' },
      data: { type: 'string' },
      id: { type: 'string' },
      priority: { type: 'string' },
      traceparent: { type: 'string' },
      tracestate: { type: 'string' },
      'ordering-key': { type: 'string' },
      'no-check': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.tenant || !values.type || values.data === undefined)
    throw new UsageError('wss publish needs --tenant, --type and --data');
  const tenant = values.tenant;
  let data: unknown;
  try {
    data = JSON.parse(values.data);
  } catch (err) {
    throw new UsageError(`--data is not JSON: ${errorMessage(err)}`);
  }
  const { eventFields, publishTraced } = await import('./queue/publish.js');
  const { createPublisher } = await import('./producers/sources/index.js');
  const input = {
    tenant: values.tenant,
    type: values.type,
    data,
    ...(values.id ? { id: values.id } : {}),
    ...(values.priority !== undefined ? { priority: values.priority } : {}),
    ...(values.traceparent !== undefined ? { traceparent: values.traceparent } : {}),
    ...(values.tracestate !== undefined ? { tracestate: values.tracestate } : {}),
    ...(values['ordering-key'] !== undefined ? { orderingKey: values['ordering-key'] } : {}),
  };
  // Refused here, before Redis is reached (or an embedded one started), with the field named.
  eventFields(input, config.maxEventBytes);
  const entryId = await withRegistry(config, log, async (registry, redis) => {
    // The bridge would dead-letter it as unknown_tenant, which only its log would show.
    if (!values['no-check'] && !(await registry.hasTenant(tenant)))
      throw new UnknownTenantError(
        `tenant "${tenant}" is not registered: the bridge would dead-letter the event (unknown_tenant); register the tenant first, or pass --no-check to publish anyway`,
      );
    const publisher = createPublisher(config, redis);
    // The SDK is imported only when OTEL_* turns tracing on; the span is flushed before exit.
    const tracer = await (await import('./tracing/tracer.js')).createTracer(config);
    try {
      return await publishTraced(tracer, publisher, input, {
        maxEventBytes: config.maxEventBytes,
        source: config.source.kind,
      });
    } finally {
      await publisher.close();
      await tracer.shutdown(config.shutdownGraceMs);
    }
  });
  process.stdout.write(`${x(entryId)}\n`);
}

async function cmdSign(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { secret: { type: 'string' }, timestamp: { type: 'string' }, file: { type: 'string' } },
    strict: true,
  });
  if (!values.secret || !values.timestamp) throw new UsageError('wss sign needs --secret and --timestamp');
  if (!/^\d+$/.test(values.timestamp)) throw new UsageError('--timestamp must be unix seconds');
  const body = readFileSync(values.file ?? 0);
  process.stdout.write(`${sign(values.secret, values.timestamp, body)}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  // No command is a usage error (exit 2), with the usage on stderr; asking for help is not.
  if (command === undefined) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command === '--version' || command === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (command === 'sign') return cmdSign(rest);
  const config = getConfig();
  const log = createLogger(config.logLevel);
  switch (command) {
    case 'start':
      return cmdStart(rest, config, log);
    case 'seed':
      return cmdSeed(rest, config, log);
    case 'publish':
      return cmdPublish(rest, config, log);
    case 'rotate-secret':
      return (await import('./cli/secrets.js')).cmdRotateSecret(rest, config, log);
    case 'recover':
      return (await import('./cli/recover.js')).cmdRecover(rest, config, log);
    case 'replay':
      return (await import('./cli/recover.js')).cmdReplay(rest, config, log);
    case 'ordering':
      return (await import('./cli/ordering.js')).cmdOrdering(rest, config, log);
    case 'secrets':
      return (await import('./cli/secrets.js')).cmdSecrets(rest, config, log);
    case 'status':
      return (await import('./cli/history.js')).cmdStatus(rest, config, log);
    case 'deliveries':
      return (await import('./cli/history.js')).cmdDeliveries(rest, config, log);
    case 'tenant':
      return (await import('./cli/tenant.js')).cmdTenant(rest, config, log);
    case 'outbox':
      return (await import('./cli/outbox.js')).cmdOutbox(rest, config);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // One line saying what is wrong, and where the usage is: not 30 lines that bury it.
  if (err instanceof UsageError) {
    process.stderr.write(`wss: ${lines(err.message)}\n${SEE_HELP}\n`);
    process.exit(2);
  }
  if (err instanceof ConfigError || err instanceof TenantsValidationError) {
    process.stderr.write(`wss: ${lines(err.message).replaceAll('; ', '\n  ')}\n`);
    process.exit(1);
  }
  if (err instanceof WssError) {
    process.stderr.write(`wss: ${lines(err.message)}\n`);
    process.exit(1);
  }
  if (
    err instanceof Error &&
    err.name === 'TypeError' &&
    'code' in err &&
    String(err.code).startsWith('ERR_PARSE_ARGS')
  ) {
    process.stderr.write(`wss: ${lines(err.message)}\n${SEE_HELP}\n`);
    process.exit(2);
  }
  // Messages may carry outside data (a Redis reply, a file's ids): never raw control characters.
  process.stderr.write(`wss: ${lines(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
  process.exit(1);
});
