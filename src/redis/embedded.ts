// The embedded default: with no REDIS_URL and nothing answering on 127.0.0.1:6379, `wss start`
// runs a local redis-server (append-only file on) so a fresh clone works with one command.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { RedisUnavailableError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { probeNode } from './client.js';

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 6379;
/** Job hashes with bodies up to 1 KB keep Redis's compact encoding: ~20 % less memory per job. */
export const REDIS_TUNING = ['--hash-max-listpack-value', '1024'];

interface RedisTarget {
  url: string;
  /** Set when this process started the server; stops it. */
  stop?: () => Promise<void>;
}

/** Whether a Redis answers PING on host:port within `timeoutMs`. */
async function answersPing(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return (await probeNode({ host, port }, { connectTimeout: timeoutMs }, true)) === undefined;
}

async function waitForPing(host: string, port: number, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null)
      throw new RedisUnavailableError(`embedded redis-server exited with code ${proc.exitCode}`);
    if (await answersPing(host, port, 300)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new RedisUnavailableError(`embedded redis-server did not answer on ${host}:${port} within ${timeoutMs} ms`);
}

const NO_REDIS = [
  'No Redis answers on 127.0.0.1:6379 and there is no redis-server binary to start one. Either:',
  '  - point at a Redis:        REDIS_URL=redis://host:6379 npm start',
  '  - start one with Docker:   docker compose up -d redis',
  '  - install it (Debian):     sudo apt-get install redis-server',
].join('\n');

export async function ensureRedis(config: Config, log: Logger): Promise<RedisTarget> {
  // A cluster is never embedded: REDIS_CLUSTER_NODES names nodes that must already run.
  if (config.redisUrlExplicit || config.redisClusterNodes) return { url: config.redisUrl };
  if (await answersPing(DEFAULT_HOST, DEFAULT_PORT)) return { url: config.redisUrl };

  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) throw new RedisUnavailableError(NO_REDIS);
  const dir = resolve(config.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const args = [
    '--port',
    String(DEFAULT_PORT),
    '--bind',
    DEFAULT_HOST,
    '--appendonly',
    'yes',
    '--save',
    '',
    '--dir',
    dir,
    '--maxmemory-policy',
    'noeviction',
    ...REDIS_TUNING,
  ];
  const proc = spawn('redis-server', args, { stdio: 'ignore' });
  await waitForPing(DEFAULT_HOST, DEFAULT_PORT, proc, 10_000);
  log.info(
    { port: DEFAULT_PORT, dir },
    `no Redis was reachable: started an embedded redis-server on ${DEFAULT_HOST}:${DEFAULT_PORT} (append-only, data in ${dir})`,
  );
  return {
    url: `redis://${DEFAULT_HOST}:${DEFAULT_PORT}`,
    stop: () =>
      new Promise<void>((res) => {
        if (proc.exitCode !== null) return res();
        proc.once('exit', () => res());
        proc.kill('SIGTERM');
      }),
  };
}
