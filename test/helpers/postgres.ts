// A private PostgreSQL cluster per test file: initdb into a temp dir, started with pg_ctl on a
// free port (127.0.0.1 only, its socket in the temp dir, trust auth), so tests can stop and
// restart it without touching the machine's PostgreSQL. As root the server must run as another
// user: the commands then run as `postgres` (runuser) and the temp dir belongs to it.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './redis-server.js';

const run = promisify(execFile);
/** The newest installed server's binaries (Debian: /usr/lib/postgresql/<version>/bin), or WSS_TEST_PG_BIN. */
function pgBin(): string {
  const given = process.env['WSS_TEST_PG_BIN'];
  if (given) return given;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'initdb')));
  if (!bin)
    throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  return bin;
}
const BIN = pgBin();

export interface TestPostgres {
  port: number;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`: trust auth ignores the password, so tests can check it is never shown. */
  url: string;
  password: string;
  /** A client of the test's own (closed by close()). */
  client(): Promise<pg.Client>;
  /** One statement on a short-lived connection. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

function asOwner(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

async function exec(cmd: string, args: string[], logFile?: string): Promise<void> {
  const [c, a] = asOwner(cmd, args);
  try {
    await run(c, a, { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    let log = '';
    try {
      if (logFile) log = `\nserver log:\n${readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}`;
    } catch {
      // no log yet
    }
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}${log}`);
  }
}

export async function startPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'wss-test-pg-'));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  if (process.getuid?.() === 0) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    for (const p of [dir, sock]) chownSync(p, uid, gid);
  }
  await exec(join(BIN, 'initdb'), [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '-E',
    'UTF8',
    '--locale=C',
  ]);
  const logFile = join(dir, 'log');
  let port = 0;
  const start = () => {
    const opts = [
      `-p ${port}`,
      `-k ${sock}`,
      '-c listen_addresses=127.0.0.1',
      // Test data need not survive a machine crash; a stop (-m fast) still writes everything.
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=60',
    ].join(' ');
    return exec(join(BIN, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', opts, 'start'], logFile);
  };
  const stop = () => exec(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  // The free port may be taken by someone else before the server binds it: try another.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (err) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  let running = true;
  const password = 'pg-secret-Zq9';
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const clients: pg.Client[] = [];
  const client = async () => {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => {});
    await c.connect();
    clients.push(c);
    return c;
  };
  return {
    port,
    url,
    password,
    client,
    async sql(text, values) {
      const c = new pg.Client({ connectionString: url });
      c.on('error', () => {});
      await c.connect();
      try {
        return (await c.query(text, values)).rows;
      } finally {
        await c.end();
      }
    },
    async stop() {
      if (!running) return;
      await stop();
      running = false;
    },
    async start() {
      if (running) return;
      await start();
      running = true;
    },
    async close() {
      for (const c of clients.splice(0)) await c.end().catch(() => undefined);
      if (running) await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One private cluster for the calling test file (started in beforeAll, removed in afterAll). */
export function useTestPostgres(): () => TestPostgres {
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  }, 60_000);
  return () => {
    if (!server) throw new Error('useTestPostgres: the cluster starts in beforeAll');
    return server;
  };
}

let tables = 0;

/** A fresh outbox table name per call, so tests of one file never share rows. */
export function outboxTableName(): string {
  return `t${process.pid}_${++tables}_outbox`;
}
