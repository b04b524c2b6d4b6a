// The bench's own infrastructure: a private redis-server, free ports, per-process stats from
// /proc, and the facts printed with every figure (cores, Node, Redis, package versions).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { REDIS_TUNING } from '../../dist/redis/embedded.js';
import { freePort, sleep, spawnRedisServer, waitForPing } from '../../test/helpers/redis-procs.mjs';

// One copy of the redis-server plumbing, shared with the tests.
export { freePort, sleep };

/** Polls `check` until it returns a truthy value; throws naming `what` after `timeoutMs`. */
export async function waitUntil(check, { timeoutMs = 30_000, everyMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function redisClient(url) {
  const r = new Redis(url, { maxRetriesPerRequest: null, connectionName: 'bench' });
  r.on('error', () => {});
  return r;
}

/** redis-server on a free 127.0.0.1 port, in a temp dir, no persistence, noeviction. */
export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wss-bench-redis-'));
  // With the settings docs/performance.md recommends (the service's embedded Redis uses them too):
  // job hashes (bodies of a few hundred bytes) stay in Redis's compact listpack encoding.
  const proc = spawnRedisServer(port, dir, REDIS_TUNING);
  await waitForPing(port, proc);
  const url = `redis://127.0.0.1:${port}`;
  const client = redisClient(url);
  return {
    url,
    port,
    pid: proc.pid,
    client,
    async info(section) {
      const text = await client.info(section);
      const out = {};
      for (const line of text.split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
      }
      return out;
    },
    async close() {
      client.disconnect();
      if (proc.exitCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU seconds (user + system) a process has used so far; undefined once it has exited. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** VmHWM (peak RSS) and VmRSS in MB from /proc/<pid>/status. */
export function memoryMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { peakRssMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
  } catch {
    return undefined;
  }
}

function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8'))
      .version;
  } catch {
    return 'unknown';
  }
}

export async function machineFacts(redis) {
  const server = await redis.info('server'); // the bench's startRedis() handle
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    node: process.version,
    redis: server['redis_version'],
    bullmq: packageVersion('bullmq'),
    undici: packageVersion('undici'),
    ioredis: packageVersion('ioredis'),
    platform: `${os.type()} ${os.release()}`,
  };
}
