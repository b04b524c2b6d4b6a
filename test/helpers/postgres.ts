// A private PostgreSQL cluster per test file: initdb into a temp dir, started with pg_ctl on a
// free port (127.0.0.1 only, its socket in the temp dir, trust auth), so tests can stop and
// restart it without touching the machine's PostgreSQL. As root the server must run as another
// user: the commands then run as `postgres` (runuser) and the temp dir belongs to it
// (pg-procs.mjs, shared with the bench).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { initPgCluster, pgBin, pgExec } from './pg-procs.mjs';
import { freePort } from './redis-server.js';

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

export async function startPostgres(): Promise<TestPostgres> {
  const { dir, data, sock } = await initPgCluster('wss-test-pg-', ['--no-sync']);
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
    return pgExec(join(BIN, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', opts, 'start'], logFile);
  };
  const stop = () => pgExec(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
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
