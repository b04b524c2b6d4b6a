// Replicas on one host, as a new user starts them: `npm run start:bridge` and `npm run
// start:worker` twice, each a process of its own with the default WSS_HEALTH_PORT. Only the
// first can have the default port; the others must move to a free one and say so, not die.
// A port that was set explicitly (WSS_HEALTH_PORT, PORT) must stop start-up with one line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { startDashboard } from '../src/dashboard/server.js';
import { PortInUseError } from '../src/lib/errors.js';
import { startTestContext } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { runWss, spawnWss, type WssProcess } from './helpers/wss-process.js';

const { redis, cleanups } = useTestRedis();
const DEFAULTS = parseConfig({});
const dir = mkdtempSync(join(tmpdir(), 'wss-replicas-'));
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Listens on `port` on every interface, as the health server does. Undefined when another
 * process already holds it: then it is taken too, which is all these tests need.
 */
async function hold(port: number): Promise<Server | undefined> {
  const srv = createServer();
  return new Promise((resolve, reject) => {
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    srv.listen(port, () => resolve(srv));
  });
}

const release = (srv: Server | undefined) => new Promise<void>((r) => (srv ? srv.close(() => r()) : r()));

interface LogLine {
  msg?: string;
  url?: string;
  port?: number;
  defaultPort?: number;
}

function logLines(out: string): LogLine[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The port a process's health server listens on, from its own log. */
async function healthPort(p: WssProcess): Promise<number> {
  await p.waitForOutput(/health server listening/, 30_000);
  const line = logLines(p.output()).find((l) => l.msg?.startsWith('health server listening'));
  return Number(new URL(line!.url!).port);
}

describe('replicas on one host', () => {
  it('config knows whether WSS_HEALTH_PORT and PORT were given or left at their defaults', () => {
    expect(parseConfig({})).toMatchObject({
      healthPort: 3001,
      healthPortExplicit: false,
      dashboard: { port: 3000, portExplicit: false },
    });
    expect(parseConfig({ WSS_HEALTH_PORT: ' ', PORT: '' })).toMatchObject({
      healthPortExplicit: false,
      dashboard: { portExplicit: false },
    });
    expect(parseConfig({ WSS_HEALTH_PORT: '3001', PORT: '3000' })).toMatchObject({
      healthPortExplicit: true,
      dashboard: { portExplicit: true },
    });
  });

  it('a bridge and two workers with the default WSS_HEALTH_PORT all stay up, each probed on its own port, and deliver', async () => {
    // The default port is taken, by us if nobody else holds it yet, so every replica meets a clash.
    const held = await hold(DEFAULTS.healthPort);
    cleanups.push(() => release(held));
    const file = join(dir, 'tenants.json');
    writeFileSync(
      file,
      JSON.stringify({
        tenants: [
          {
            id: 'acme',
            endpoints: [{ id: 'hook', url: `${receiver.url}/replicas`, secret: 'replicas-secret-0123456789' }],
          },
        ],
      }),
    );
    // No WSS_HEALTH_PORT and no PORT: the defaults, as a new user leaves them.
    const env = {
      REDIS_URL: redis().url,
      WSS_PREFIX: 'replicas',
      WSS_STREAM: 'replicas:events',
      WSS_ALLOW_PRIVATE_URLS: 'true',
      TENANTS_FILE: file,
      LOG_LEVEL: 'info',
    };

    const procs: Array<{ role: 'bridge' | 'worker'; proc: WssProcess }> = [];
    cleanups.push(async () => {
      for (const { proc } of procs) await proc.kill('SIGTERM');
    });
    // One after the other, as from three terminals: each is up before the next starts.
    for (const role of ['bridge', 'worker', 'worker'] as const) {
      const proc = spawnWss(['start', '--role', role], env);
      procs.push({ role, proc });
      await proc.waitForOutput(/webhook-sender started/, 30_000);
    }

    const ports = await Promise.all(procs.map(({ proc }) => healthPort(proc)));
    expect(new Set(ports).size).toBe(3);
    let moved = 0;
    for (const [i, { role, proc }] of procs.entries()) {
      // Every one that is not on the default port logged why it moved, and where to.
      if (ports[i] !== DEFAULTS.healthPort) {
        const warn = logLines(proc.output()).find((l) => l.msg?.includes('in use'));
        expect(warn, `${role} ${i}: ${proc.output()}`).toMatchObject({
          port: ports[i],
          defaultPort: DEFAULTS.healthPort,
        });
        expect(warn!.msg).toContain(`default port ${DEFAULTS.healthPort} is in use`);
        expect(warn!.msg).toContain(`listening on port ${ports[i]}`);
        expect(warn!.msg).toContain('WSS_HEALTH_PORT');
        moved++;
      }
      const health = await fetch(`http://127.0.0.1:${ports[i]}/healthz`);
      expect(health.status).toBe(200);
      // /readyz names the roles of the process behind the port: this replica, not a neighbour.
      const ready = (await (await fetch(`http://127.0.0.1:${ports[i]}/readyz`)).json()) as {
        checks: Array<{ name: string }>;
      };
      expect(ready.checks.map((c) => c.name)).toEqual(['redis', role]);
    }
    // At most one process can hold the default port; the default is taken, so at least two moved.
    expect(moved).toBeGreaterThanOrEqual(2);

    const published = runWss(
      ['publish', '--tenant', 'acme', '--type', 'order.created', '--data', '{"n":1}', '--id', 'replicas-1'],
      env,
    );
    expect(published.status, published.stderr).toBe(0);
    const deadline = Date.now() + 30_000;
    while (!receiver.requests.some((r) => r.path === '/replicas') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(receiver.requests.filter((r) => r.path === '/replicas').map((r) => r.headers['x-wss-event-id'])).toEqual([
      'replicas-1',
    ]);

    for (const { proc } of procs) expect(proc.proc.exitCode).toBeNull();
  }, 120_000);

  it('an explicit WSS_HEALTH_PORT that is taken stops start-up with one line naming it (exit 1)', async () => {
    const held = (await hold(0))!;
    cleanups.push(() => release(held));
    const port = (held.address() as { port: number }).port;
    const r = runWss(['start', '--role', 'worker'], {
      REDIS_URL: redis().url,
      WSS_PREFIX: 'replicas-explicit',
      WSS_HEALTH_PORT: String(port),
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `wss: WSS_HEALTH_PORT=${port}: the port is already in use by another process; set WSS_HEALTH_PORT to a free port (0 picks any free port)`,
    ]);
  }, 60_000);

  it('the dashboard does not move: an explicit PORT that is taken stops start-up with one line naming it (exit 1)', async () => {
    const held = (await hold(0))!;
    cleanups.push(() => release(held));
    const port = (held.address() as { port: number }).port;
    const r = runWss(['start', '--role', 'dashboard'], {
      REDIS_URL: redis().url,
      WSS_PREFIX: 'replicas-dash',
      PORT: String(port),
      WSS_DASHBOARD_PASSWORD: 'replicas-password-0123',
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `wss: PORT=${port}: the port is already in use by another process (another dashboard on this host?); set PORT to a free port`,
    ]);
  }, 60_000);

  it('the dashboard does not move off its default PORT either: one line says PORT is not set and the default is taken', async () => {
    // In-process: holding 3000 itself would break the demo test, which runs on the default PORT.
    // The config is the one PORT=<held> gives, marked not explicit, as when the default is taken.
    const held = (await hold(0))!;
    cleanups.push(() => release(held));
    const port = (held.address() as { port: number }).port;
    const t = await startTestContext({ PORT: String(port), WSS_DASHBOARD_PASSWORD: 'replicas-password-0123' }, redis());
    cleanups.push(() => t.close());
    const ctx = {
      ...t.ctx,
      config: { ...t.ctx.config, dashboard: { ...t.ctx.config.dashboard, portExplicit: false } },
    };
    await expect(startDashboard(ctx, { logCredentials: false })).rejects.toThrow(
      new PortInUseError(
        `PORT is not set and its default port ${port} is already in use by another process (another dashboard on this host?); set PORT to a free port`,
      ),
    );
  }, 60_000);
});
