// The PostgreSQL outbox as a bench source (scenario source-throughput): a private cluster
// (initdb + pg_ctl on a free 127.0.0.1 port, PostgreSQL's default durability: fsync and
// synchronous_commit on), the table made by `wss outbox init` as a user makes it, and the events
// bulk-inserted before the bridge starts. Broker CPU = the postmaster and every backend, living
// (utime + stime) or exited (the postmaster's cutime + cstime).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { initPgCluster, pgBin, pgExec } from '../../test/helpers/pg-procs.mjs';
import { freePort } from './env.mjs';
import { CLI } from './service.mjs';

const run = promisify(execFile);
const TABLE = 'wss_outbox';
const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** [utime + stime, cutime + cstime, ppid] of a process, in seconds; undefined once it is gone. */
function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      own: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND,
      reaped: (Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND,
      ppid: Number(f[1]),
    };
  } catch {
    return undefined;
  }
}

function clusterCpuSeconds(postmaster) {
  const main = stat(postmaster);
  if (!main) return NaN;
  let total = main.own + main.reaped;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s?.ppid === postmaster) total += s.own;
  }
  return total;
}

const dataText = (d) => (typeof d === 'string' ? d : JSON.stringify(d));

export async function prepareSource() {
  const bin = pgBin();
  const { dir, data, sock } = await initPgCluster('wss-bench-pg-');
  const port = await freePort();
  const opts = `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1`;
  await pgExec(
    join(bin, 'pg_ctl'),
    ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', opts, 'start'],
    join(dir, 'log'),
  );
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const env = { WSS_SOURCE: 'postgres-outbox', WSS_PG_URL: url, WSS_OUTBOX_TABLE: TABLE };
  await run(process.execPath, [CLI, 'outbox', 'init'], { env: { PATH: process.env.PATH, ...env } });

  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  return {
    env,
    /** One INSERT per 1,000 events (unnest of arrays), each in its own transaction. */
    async publish(events) {
      for (let i = 0; i < events.length; i += 1_000) {
        const chunk = events.slice(i, i + 1_000);
        await client.query(
          `INSERT INTO ${TABLE} (id, tenant, type, data, priority)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[])`,
          [
            chunk.map((e) => e.id ?? null),
            chunk.map((e) => e.tenant),
            chunk.map((e) => e.type),
            chunk.map((e) => dataText(e.data)),
            chunk.map((e) => e.priority ?? null),
          ],
        );
      }
    },
    brokerCpuSeconds: () => clusterCpuSeconds(postmaster),
    async close() {
      await client.end().catch(() => undefined);
      await pgExec(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
