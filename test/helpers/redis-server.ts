// A private redis-server per test file, on a free port, in a temp dir: tests are isolated
// from each other and from the machine's Redis, and can kill or restart it.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { freePort, spawnRedisServer, waitForPing } from './redis-procs.mjs';
// Tracks every redis-server the tests start (children.ts), so an interrupted run kills them.
import './children.js';

export { freePort, spawnRedisServer, waitForPing } from './redis-procs.mjs';

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  client(): Redis;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface TestRedisOptions {
  /** Append-only file on, for tests that restart Redis and expect their data back. */
  appendonly?: boolean;
  /** More redis-server arguments, e.g. ['--maxmemory', '10mb'] or ['--requirepass', 'x']. */
  extraArgs?: string[];
}

export async function startRedis(opts: TestRedisOptions = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wss-test-redis-'));
  let proc: ChildProcess | undefined;
  const clients: Redis[] = [];
  const start = async () => {
    proc = spawnRedisServer(port, dir, opts.extraArgs ?? [], opts.appendonly);
    await waitForPing(port, proc);
  };
  const stop = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((res) => {
      p.once('exit', () => res());
      p.kill('SIGTERM');
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    client() {
      const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    start,
    stop,
    async close() {
      for (const c of clients) c.disconnect();
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface UseTestRedis {
  /** The file's server (started in beforeAll). */
  redis: () => TestRedis;
  /** Run (last first) after each test. */
  cleanups: Array<() => Promise<void>>;
  /** A second private server for one test (e.g. one it restarts), closed after that test. */
  ownRedis: (opts?: TestRedisOptions) => Promise<TestRedis>;
}

/**
 * One private redis-server for the calling test file, plus cleanups run (last first) after
 * each test. Call at the top level of a test file (or of a describe block).
 */
export function useTestRedis(opts: TestRedisOptions = {}): UseTestRedis {
  let server: TestRedis | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    server = await startRedis(opts);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await server?.close();
  });
  return {
    redis: () => {
      if (!server) throw new Error('useTestRedis: the server starts in beforeAll');
      return server;
    },
    cleanups,
    async ownRedis(ownOpts = {}) {
      const own = await startRedis(ownOpts);
      cleanups.push(() => own.close());
      return own;
    },
  };
}
