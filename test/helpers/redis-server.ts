// A private redis-server per test file, on a free port, in a temp dir: tests are isolated
// from each other and from the machine's Redis, and can kill or restart it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { answersPing } from '../../src/redis/embedded.js';
import { tracked } from './children.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  client(): Redis;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Until the redis-server on 127.0.0.1:`port` answers PING; fails early if `proc` has exited.
 * The connect timeout is ioredis's default: a local port answers or refuses at once anyway.
 */
export async function waitForPing(port: number, proc: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await answersPing('127.0.0.1', port, 10_000))) {
    if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/**
 * waitForPing for a server that needs more than a plain connection: `conn` adds what the
 * connection needs (`tls`, `username`, `password`), e.g. a TLS-only server with `--port 0`.
 */
export async function waitForPingOver(port: number, proc: ChildProcess, conn: RedisOptions): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const c = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      ...conn,
    });
    c.on('error', () => {});
    try {
      await c.connect();
      if ((await c.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      c.disconnect();
    }
    if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within 10 s`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** redis-server on 127.0.0.1:`port` with its files in `dir`: no snapshots, noeviction, then `args`. */
export function spawnRedisServer(port: number, dir: string, args: string[], appendonly = false): ChildProcess {
  const proc = tracked(
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        appendonly ? 'yes' : 'no',
        '--dir',
        dir,
        '--maxmemory-policy',
        'noeviction',
        ...args,
      ],
      { stdio: 'ignore' },
    ),
  );
  proc.on('error', (err) => {
    throw new Error(`cannot start redis-server (is it installed? apt-get install redis-server): ${err.message}`);
  });
  return proc;
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
