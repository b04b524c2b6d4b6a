// The dashboard listens where the logs and the README say: 127.0.0.1 by default, another
// address with WSS_DASHBOARD_BIND (the Docker image's 0.0.0.0 included), never anything but
// loopback without authentication. It used to listen on every interface while saying
// 127.0.0.1 (issue 18, item 10). 127.0.0.2 is this machine too, but not the address 127.0.0.1:
// a server bound to 127.0.0.1 refuses it, one bound to every interface answers.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useTestRedis } from './helpers/redis-server.js';
import { runWss, spawnWss } from './helpers/wss-process.js';

const { redis } = useTestRedis();

/** 'open' when a TCP connection to host:port succeeds, else the error code. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve('open');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** The `dashboard listening` line's fields. */
function listening(out: string): { listen: string; url: string } {
  const line = out.split('\n').find((l) => l.includes('"msg":"dashboard listening"'));
  if (!line) throw new Error(`no "dashboard listening" line in:\n${out}`);
  return JSON.parse(line) as { listen: string; url: string };
}

/** WSS_DASHBOARD_BIND as the Dockerfile sets it. */
function dockerfileBind(): string {
  const text = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
  const m = /^ENV WSS_DASHBOARD_BIND=(\S+)$/m.exec(text);
  if (!m) throw new Error('the Dockerfile does not set WSS_DASHBOARD_BIND');
  return m[1]!;
}

describe('where the dashboard listens', () => {
  it.each([
    ['default', {}, '127.0.0.1', 'ECONNREFUSED'],
    ["the Docker image's WSS_DASHBOARD_BIND", { WSS_DASHBOARD_BIND: dockerfileBind() }, '0.0.0.0', 'open'],
  ])('%s: binds what it logs', async (_what, extra, address, otherLoopback) => {
    const env = {
      REDIS_URL: redis().url,
      WSS_PREFIX: 'bind',
      PORT: '0',
      LOG_LEVEL: 'info',
      WSS_DASHBOARD_PASSWORD: 'bind-test-password-123',
      ...extra,
    };
    const svc = spawnWss(['start', '--role', 'dashboard'], env);
    try {
      await svc.waitForOutput(/"msg":"dashboard listening"/);
      const { listen, url } = listening(svc.output());
      const port = Number(/:(\d+)$/.exec(listen)![1]);
      expect(listen).toBe(`${address}:${port}`);
      expect(url).toBe(`http://127.0.0.1:${port}/admin/queues`);
      expect(await tryConnect('127.0.0.1', port)).toBe('open');
      expect(await tryConnect('127.0.0.2', port)).toBe(otherLoopback);
    } finally {
      expect(await svc.kill('SIGTERM')).toBe(0);
    }
  });

  it('without authentication, a non-loopback WSS_DASHBOARD_BIND stops start-up naming both variables', () => {
    const r = runWss(['start', '--role', 'dashboard'], {
      REDIS_URL: redis().url,
      WSS_DASHBOARD_AUTH: 'off',
      WSS_DASHBOARD_BIND: '0.0.0.0',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('WSS_DASHBOARD_BIND: "0.0.0.0" is not a loopback address');
    expect(r.stderr).toContain('WSS_DASHBOARD_AUTH=off');
  });
});
