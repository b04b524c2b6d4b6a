// `wss recover` and `wss replay`: the admin API's recover and replay (src/replay/operations.ts),
// run from the command line against Redis directly. Human-readable output, or --json.
import { parseArgs } from 'node:util';
import { JSON_FLAG, requireTarget, TARGET_FLAGS, withRegistry } from './common.js';
import type { Config } from '../config.js';
import { UsageError, WssError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { escapeControls as x, terminalJson } from '../lib/terminal.js';
import { OperationError, runRecover, runReplay, type OperationDeps } from '../replay/operations.js';
import { ReplayBusyError, ReplayRefusedError } from '../replay/replay.js';
import { DeliveryQueues } from '../queue/delivery-queues.js';
import { createExpressionPool } from '../expressions/pool.js';
import { createReplayHistory } from '../replay/history.js';

class OperationFailed extends WssError {
  constructor(message: string) {
    super('OPERATION_REFUSED', message);
  }
}

/** The API names fields as JSON does (`field "dryRun"`); here they are the flags (`--dry-run`). */
export function asFlags(message: string): string {
  return message.replace(
    /field "([A-Za-z]+)"/g,
    (_m, f: string) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
  );
}

async function withOperations<T>(config: Config, log: Logger, fn: (deps: OperationDeps) => Promise<T>): Promise<T> {
  return withRegistry(config, log, async (registry, redis) => {
    const queues = new DeliveryQueues(redis, config.prefix, config.layout);
    const pool = createExpressionPool(config, log);
    const replayFrom = createReplayHistory(config, redis);
    try {
      await registry.refresh();
      return await fn({ redis, registry, config, queues, runner: pool, now: Date.now, history: replayFrom.history });
    } catch (err) {
      if (err instanceof OperationError || err instanceof ReplayRefusedError || err instanceof ReplayBusyError)
        throw new OperationFailed(asFlags(err.message));
      throw err;
    } finally {
      await queues.close();
      await pool.close();
      await replayFrom.close();
    }
  });
}

export async function cmdRecover(args: string[], config: Config, log: Logger): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_FLAGS,
      since: { type: 'string' },
      'event-id': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      ...JSON_FLAG,
    },
    strict: true,
  });
  const { tenant, endpoint } = requireTarget('wss recover', values);
  if (values.since === undefined && values['event-id'] === undefined)
    throw new UsageError('wss recover needs --since (e.g. 2h, or an ISO time)');
  const input = {
    ...(values.since !== undefined ? { since: values.since } : {}),
    ...(values['event-id'] !== undefined ? { eventId: values['event-id'] } : {}),
    dryRun: values['dry-run'],
  };
  const out = await withOperations(config, log, (deps) => runRecover(deps, tenant, endpoint, input));
  if (values.json) return void process.stdout.write(`${terminalJson(out)}\n`);
  const where = x(`${out.tenant}/${out.endpoint}`);
  process.stdout.write(
    out.dryRun
      ? `${out.failed} failed deliveries of ${where} since ${x(out.since)} (dry run: nothing queued)\n`
      : `recovered ${out.recovered} of ${out.failed} failed deliveries of ${where} since ${x(out.since)}${out.skipped > 0 ? ` (${out.skipped} had already left the failed set)` : ''}\n`,
  );
  for (const id of out.jobIds) process.stdout.write(`  ${x(id)}\n`);
  if (out.failed > out.jobIds.length) process.stdout.write(`  … and ${out.failed - out.jobIds.length} more\n`);
}

export async function cmdReplay(args: string[], config: Config, log: Logger): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_FLAGS,
      from: { type: 'string' },
      to: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      ...JSON_FLAG,
    },
    strict: true,
  });
  if (!values.tenant || values.from === undefined)
    throw new UsageError('wss replay needs --tenant and --from (and --to, default now)');
  const input = {
    tenant: values.tenant,
    ...(values.endpoint !== undefined ? { endpoint: values.endpoint } : {}),
    from: values.from,
    to: values.to ?? 'now',
    dryRun: values['dry-run'],
  };
  const out = await withOperations(config, log, (deps) => runReplay(deps, input));
  if (values.json) return void process.stdout.write(`${terminalJson(out)}\n`);
  const target = x(values.endpoint ? `${values.tenant}/${values.endpoint}` : `every endpoint of ${values.tenant}`);
  process.stdout.write(
    out.dryRun
      ? `${out.events} events from ${x(out.from)} to ${x(out.to)}: ${out.deliveries} deliveries to ${target} (dry run: nothing queued)\n`
      : `replay ${x(out.replayId ?? '')}: ${out.deliveries} deliveries of ${out.events} events from ${x(out.from)} to ${x(out.to)} queued to ${target}\n`,
  );
  if (out.firstEventIds.length > 0) process.stdout.write(`  first events: ${x(out.firstEventIds.join(', '))}\n`);
  if (out.skipped > 0) {
    process.stdout.write(`  ${out.skipped} deliveries skipped, e.g.:\n`);
    for (const s of out.skippedExamples) process.stdout.write(`    ${x(s.entryId)}: ${x(s.reason)}\n`);
  }
}
