// `wss outbox init [--print]`: creates the PostgreSQL outbox table (WSS_OUTBOX_TABLE), its
// indexes and its notify trigger in WSS_PG_URL's database, idempotently; `--print` writes the same
// SQL to stdout instead, for migration tools, and needs no database.
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { describePgUrl } from '../config/outbox-parsers.js';
import { UsageError } from '../lib/errors.js';
import { connectClient, destroyClient } from '../producers/sources/postgres-outbox/connect.js';
import { initSql } from '../producers/sources/postgres-outbox/sql.js';
import { initTable } from '../producers/sources/postgres-outbox/table.js';

export async function cmdOutbox(args: string[], config: Config): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'init') throw new UsageError('wss outbox: expected `wss outbox init [--print]`');
  const { values } = parseArgs({ args: rest, options: { print: { type: 'boolean', default: false } }, strict: true });
  const { url, table, keep } = config.source.postgres;
  if (values.print) return void process.stdout.write(initSql(table, { keep }));
  if (url === undefined) throw new UsageError('wss outbox init needs WSS_PG_URL (or --print to only show the SQL)');
  const client = await connectClient(url, 'outbox-init', () => {});
  try {
    const { existed } = await initTable(client, table, keep);
    process.stdout.write(
      `outbox table ${table.text} in ${describePgUrl(url)}: ${existed ? 'already there; indexes and trigger checked' : 'created, with its indexes and notify trigger'}\n`,
    );
  } finally {
    await client.end().catch(() => destroyClient(client));
  }
}
