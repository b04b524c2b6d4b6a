// `wss ordering blocked` and `wss ordering skip <jobId>` (docs/ordering.md): the blocked keys,
// and skipping a key's blocked head, against Redis directly, as the admin API does.
import { parseArgs } from 'node:util';
import { withRegistry } from './common.js';
import type { Config } from '../config.js';
import { UsageError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { escapeControls as x } from '../lib/terminal.js';
import { DeliveryQueues } from '../queue/delivery-queues.js';
import { blockedKeys, skipOrdered } from '../queue/ordering-admin.js';

export async function cmdOrdering(args: string[], config: Config, log: Logger): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { tenant: { type: 'string' }, endpoint: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (sub !== 'blocked' && sub !== 'skip') throw new UsageError('wss ordering blocked | wss ordering skip <jobId>');
  if (sub === 'skip' && positionals.length !== 1) throw new UsageError('wss ordering skip needs one delivery job id');
  await withRegistry(config, log, async (_registry, redis) => {
    const queues = new DeliveryQueues(redis, config.prefix, config.layout);
    const deps = { redis, queues, prefix: config.prefix, ttlS: config.orderingKeyTtlS, now: Date.now };
    try {
      if (sub === 'skip') {
        const s = await skipOrdered(deps, positionals[0]!);
        process.stdout.write(`skipped ${x(s.jobId)}: it stays failed; key ${x(s.key)} moves on\n`);
        return;
      }
      const filter = {
        ...(values.tenant ? { tenant: values.tenant } : {}),
        ...(values.endpoint ? { endpoint: values.endpoint } : {}),
      };
      const list = await blockedKeys(deps, filter);
      if (list.length === 0) process.stdout.write('no blocked ordering keys\n');
      for (const b of list) process.stdout.write(`${x(b.key)}\tblocked by ${x(b.jobId)}\n`);
    } finally {
      await queues.close();
    }
  });
}
