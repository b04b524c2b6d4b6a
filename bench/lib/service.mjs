// Running webhook-sender as the user would: `node dist/cli.js start --role …` child processes
// against the bench's Redis, a generated tenants file, and events XADDed to the stream.
import { spawn } from 'node:child_process';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, memoryMb, sleep, waitUntil } from './env.mjs';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
// The V8 flags `npm start`, the wss bin and the Docker image use (see package.json, Dockerfile).
// For experiments, BENCH_NODE_FLAGS replaces them for every role process and
// BENCH_NODE_FLAGS_BRIDGE / _WORKER for one role (space-separated, e.g. "--max-semi-space-size=32").
export const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=4').split(' ');
export const PREFIX = 'bench';
export const STREAM = 'bench:events';
export const GROUP = 'wss-bridge';
export const SECRET = 'bench-secret-0123456789abcdef';
export const QUEUE = 'deliveries';

// Every role process still running; killed if the bench itself exits early.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Stops role processes a failed scenario left behind, so the next one starts clean. */
export async function stopStragglers() {
  const left = [...running];
  for (const child of left) child.kill('SIGKILL');
  await Promise.all(
    left.map(
      (child) =>
        new Promise((resolve) =>
          child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve),
        ),
    ),
  );
  return left.length;
}

export const wallNow = () => performance.timeOrigin + performance.now();

/** Writes a tenants file: `tenants` is [{ id, endpoints: [{ id, url, events?, retry? }] }]. */
export function writeTenantsFile(dir, name, tenants) {
  const file = join(dir, `${name}.tenants.json`);
  const doc = {
    tenants: tenants.map((t) => ({
      id: t.id,
      endpoints: t.endpoints.map((e) => ({ secret: SECRET, events: ['*'], ...e })),
    })),
  };
  writeFileSync(file, JSON.stringify(doc, null, 1));
  return file;
}

/**
 * Event data padded so the envelope the endpoint receives is about `bodyBytes` long
 * (envelope overhead: ids, type, tenant, ISO time ≈ 110 bytes).
 */
export function paddedData(seq, bodyBytes = 300) {
  const base = { orderId: `o-${seq}`, status: 'shipped', pad: '' };
  const overhead = 110 + JSON.stringify(base).length;
  base.pad = 'x'.repeat(Math.max(0, bodyBytes - overhead));
  return JSON.stringify(base);
}

/** XADDs `count` events, pipelined in chunks; `fieldsFor(i)` returns the field record. */
export async function loadStream(redis, count, fieldsFor, chunk = 1_000) {
  for (let i = 0; i < count; i += chunk) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(count, i + chunk); j++) p.xadd(STREAM, '*', ...Object.entries(fieldsFor(j)).flat());
    const res = await p.exec();
    const failed = res.find(([err]) => err);
    if (failed) throw failed[0];
  }
}

/**
 * Publishes at a steady rate for `durationMs` (pipelined every `tickMs`); each event's id
 * carries its send time (`L<wall ms>-<seq>`) so the receiver can compute latency.
 * `fieldsFor(seq, id)` returns the fields. `stopWhen` (optional, async, asked every
 * `checkEveryMs`): true ends publishing early. Returns how many were sent.
 */
export async function publishPaced(
  redis,
  { ratePerSec, durationMs, fieldsFor, tickMs = 5, stopWhen, checkEveryMs = 100 },
) {
  const start = performance.now();
  let sent = 0;
  let checkAt = start + checkEveryMs;
  for (;;) {
    if (stopWhen && performance.now() >= checkAt) {
      if (await stopWhen()) return sent;
      checkAt = performance.now() + checkEveryMs;
    }
    const elapsed = performance.now() - start;
    const due = Math.min(Math.floor((elapsed * ratePerSec) / 1000), Math.floor((durationMs * ratePerSec) / 1000));
    if (due > sent) {
      const p = redis.pipeline();
      const at = wallNow().toFixed(3);
      for (; sent < due; sent++) p.xadd(STREAM, '*', ...Object.entries(fieldsFor(sent, `L${at}-${sent}`)).flat());
      await p.exec();
    }
    if (elapsed >= durationMs) return sent;
    await sleep(tickMs);
  }
}

/** Acknowledged entries of the bridge's group: entries-read − pending, plus lag. */
export async function groupProgress(redis) {
  try {
    const groups = await redis.xinfo('GROUPS', STREAM);
    for (const raw of groups) {
      const f = {};
      for (let i = 0; i + 1 < raw.length; i += 2) f[raw[i]] = raw[i + 1];
      if (f['name'] === GROUP)
        return {
          read: Number(f['entries-read'] ?? 0),
          pending: Number(f['pending']),
          acked: Number(f['entries-read'] ?? 0) - Number(f['pending']),
          lag: f['lag'] === null ? undefined : Number(f['lag']),
        };
    }
  } catch {
    // no stream yet
  }
  return { read: 0, pending: 0, acked: 0, lag: undefined };
}

/**
 * `node dist/cli.js start --role <role>` with the bench's environment. Output goes to a log
 * file in `logDir`; with `profileDir` the child runs under --cpu-prof.
 */
export function spawnRole(role, { redisUrl, tenantsFile, logDir, scenario, profileDir, env = {} }) {
  const logFile = join(logDir, `${scenario}-${role}.log`);
  const fd = openSync(logFile, 'a');
  const nodeArgs = [
    ...(process.env[`BENCH_NODE_FLAGS_${role.toUpperCase()}`]?.split(' ') ?? NODE_FLAGS),
    ...(profileDir
      ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${scenario}-${role}.cpuprofile`]
      : []),
  ];
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'start', '--role', role], {
    stdio: ['ignore', fd, fd],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REDIS_URL: redisUrl,
      WSS_PREFIX: PREFIX,
      WSS_STREAM: STREAM,
      WSS_GROUP: GROUP,
      WSS_CONSUMER: `bench-${role}`,
      TENANTS_FILE: tenantsFile,
      WSS_ALLOW_PRIVATE_URLS: 'true',
      LOG_LEVEL: 'warn',
      WSS_HEALTH_PORT: '0',
      WSS_SHUTDOWN_GRACE_MS: '2000',
      ...env,
    },
  });
  closeSync(fd);
  running.add(child);
  let exit;
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve((exit = { code, signal }));
    }),
  );
  return {
    role,
    pid: child.pid,
    logFile,
    exited: () => exit,
    cpu: () => cpuSeconds(child.pid) ?? NaN,
    memory: () => memoryMb(child.pid),
    /** Peak RSS and CPU seconds read just before SIGTERM; then waits for the exit. */
    async stop() {
      const last = { memory: memoryMb(child.pid), cpuSeconds: cpuSeconds(child.pid) ?? NaN };
      if (!exit) {
        child.kill('SIGTERM');
        const killed = await Promise.race([exited, sleep(15_000).then(() => undefined)]);
        if (!killed) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      return { ...last, exit };
    },
  };
}

/** Fails fast when a role process died instead of waiting for a timeout. */
export function assertAlive(...procs) {
  for (const p of procs) {
    const e = p.exited();
    if (e) throw new Error(`${p.role} process exited (code ${e.code}, signal ${e.signal}); see ${p.logFile}`);
  }
}

/** Waits until the receiver has seen `count` distinct deliveries under `label`. */
export async function waitForDeliveries(receiver, label, count, { timeoutMs, procs = [] }) {
  let last;
  try {
    await waitUntil(
      async () => {
        assertAlive(...procs);
        last = (await receiver.stats())[label];
        return (last?.distinct ?? 0) >= count;
      },
      { timeoutMs, everyMs: 100, what: `${count} deliveries at the receiver` },
    );
  } catch (err) {
    if (procs.some((p) => p.exited())) throw err;
    return { ...last, timedOut: true };
  }
  return { ...last, timedOut: false };
}
