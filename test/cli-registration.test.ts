// The real CLI: TENANTS_FILE at start seeds only what is new (admin-API changes survive a
// restart), `wss seed` refuses private URLs unless allowed, and `wss publish` refuses an
// oversize event before anything is written.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRedis } from '../src/redis/client.js';
import { Registry } from '../src/tenants/registry.js';
import { useTestRedis } from './helpers/redis-server.js';
import { runWss, spawnWss } from './helpers/wss-process.js';

const { redis } = useTestRedis();
const dir = mkdtempSync(join(tmpdir(), 'wss-cli-reg-'));
const SECRET = 'cli-reg-secret-0123456789';
const ROTATED = 'rotated-secret-abcdefghijkl';

function tenantsFile(name: string, content: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(content));
  return p;
}

describe('TENANTS_FILE at start', () => {
  it('creates what is new and keeps what the admin API changed, across a restart', async () => {
    const ep = (id: string) => ({ id, url: `https://hooks.example/${id}`, secret: SECRET });
    const path = tenantsFile('start.json', { tenants: [{ id: 'acme', endpoints: [ep('orders'), ep('audit')] }] });
    const env = {
      REDIS_URL: redis().url,
      WSS_PREFIX: 'cli-keep',
      WSS_STREAM: 'cli-keep:events',
      WSS_HEALTH_PORT: '0',
      TENANTS_FILE: path,
      LOG_LEVEL: 'info',
    };

    const first = spawnWss(['start', '--role', 'worker'], env);
    try {
      await first.waitForOutput(/webhook-sender started/);
    } finally {
      expect(await first.kill('SIGTERM')).toBe(0);
    }

    // An operator disables one endpoint, moves it and rotates its secret through the registry
    // (what the admin API's PUT does).
    const conn = createRedis(redis().url, 'test');
    const registry = new Registry(conn, 'cli-keep');
    try {
      await registry.updateEndpoint('acme', 'orders', (cur) => ({
        ...cur,
        enabled: false,
        url: 'https://moved.example/orders',
        secret: ROTATED,
      }));
      // The file gains an endpoint meanwhile.
      writeFileSync(
        path,
        JSON.stringify({ tenants: [{ id: 'acme', endpoints: [ep('orders'), ep('audit'), ep('billing')] }] }),
      );

      const again = spawnWss(['start', '--role', 'worker'], env);
      try {
        await again.waitForOutput(/webhook-sender started/);
      } finally {
        expect(await again.kill('SIGTERM')).toBe(0);
      }
      expect(await registry.getEndpointConfig('acme', 'orders')).toMatchObject({
        enabled: false,
        url: 'https://moved.example/orders',
        secret: ROTATED,
      });
      expect(await registry.getEndpointConfig('acme', 'billing')).toMatchObject({
        enabled: true,
        url: 'https://hooks.example/billing',
      });
      expect(first.output()).toMatch(/"created":\{"tenants":1,"endpoints":2\},"kept":\{"tenants":0,"endpoints":0\}/);
      expect(again.output()).toMatch(/"created":\{"tenants":0,"endpoints":1\},"kept":\{"tenants":1,"endpoints":2\}/);

      // `wss seed` is the explicit overwrite: it still upserts the file's version, but replaces
      // the rotated secret only with --force (test/cli-seed.test.ts), saying what it changed.
      expect(runWss(['seed', path], env).status).toBe(1);
      const forced = runWss(['seed', '--force', path], env);
      expect(forced.status).toBe(0);
      expect(forced.stdout).toContain('updated acme/orders: enabled, url; secret replaced');
      expect(await registry.getEndpointConfig('acme', 'orders')).toMatchObject({
        enabled: true,
        url: 'https://hooks.example/orders',
        secret: SECRET,
      });
    } finally {
      conn.disconnect();
    }
  });
});

describe('secretEnv the process cannot see', () => {
  it('wss seed and TENANTS_FILE at start seed the file and name each missing variable', async () => {
    const path = tenantsFile('secret-env.json', {
      tenants: [
        {
          id: 'acme',
          endpoints: [
            { id: 'orders', url: 'https://hooks.example/orders', secretEnv: 'WSS_SECRET_ACME_ORDERS' },
            { id: 'audit', url: 'https://hooks.example/audit', secretEnv: 'WSS_SECRET_ACME_AUDIT' },
          ],
        },
      ],
    });
    const env = { REDIS_URL: redis().url, WSS_PREFIX: 'cli-secret-env', WSS_SECRET_ACME_AUDIT: SECRET };
    const seeded = runWss(['seed', path], env);
    expect(seeded.status).toBe(0);
    expect(seeded.stderr).toBe(
      'note: secretEnv is not set here (workers must have it): tenant "acme" endpoint "orders": WSS_SECRET_ACME_ORDERS\n',
    );
    const started = spawnWss(['start', '--role', 'worker'], {
      ...env,
      WSS_PREFIX: 'cli-secret-env-start',
      WSS_HEALTH_PORT: '0',
      TENANTS_FILE: path,
      LOG_LEVEL: 'info',
    });
    try {
      await started.waitForOutput(/webhook-sender started/);
    } finally {
      expect(await started.kill('SIGTERM')).toBe(0);
    }
    expect(started.output()).toContain(
      'secretEnv not set in this process: tenant \\"acme\\" endpoint \\"orders\\": WSS_SECRET_ACME_ORDERS',
    );
    expect(started.output()).not.toContain('WSS_SECRET_ACME_AUDIT');
  });
});

describe('registration rules in the CLI', () => {
  it('wss seed refuses a private URL naming the field unless WSS_ALLOW_PRIVATE_URLS=true', async () => {
    const path = tenantsFile('private.json', {
      tenants: [{ id: 'acme', endpoints: [{ id: 'orders', url: 'http://127.0.0.1:4000/x', secret: SECRET }] }],
    });
    const env = { REDIS_URL: redis().url, WSS_PREFIX: 'cli-private' };
    const r = runWss(['seed', path], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('tenant "acme" endpoint "orders" field "url": is a private address (loopback)');
    expect(await redis().client().keys('cli-private:*')).toEqual([]);
    expect(runWss(['seed', path], { ...env, WSS_ALLOW_PRIVATE_URLS: 'true' }).status).toBe(0);
  });

  it('wss start refuses a TENANTS_FILE with a private URL', () => {
    const path = tenantsFile('private-start.json', {
      tenants: [{ id: 'acme', endpoints: [{ id: 'orders', url: 'http://localhost/x', secret: SECRET }] }],
    });
    const r = runWss(['start', '--role', 'worker'], {
      REDIS_URL: redis().url,
      WSS_PREFIX: 'cli-private-start',
      WSS_HEALTH_PORT: '0',
      TENANTS_FILE: path,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('field "url": points at localhost');
  });

  it('wss publish refuses data over WSS_MAX_EVENT_BYTES naming the field, and adds nothing', async () => {
    const env = { REDIS_URL: redis().url, WSS_STREAM: 'cli-big:events', WSS_MAX_EVENT_BYTES: '1024' };
    const r = runWss(
      ['publish', '--tenant', 'acme', '--type', 'order.created', '--data', JSON.stringify({ pad: 'x'.repeat(2_000) })],
      env,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('field "data" is 2010 bytes, more than WSS_MAX_EVENT_BYTES (1024)');
    expect(await redis().client().exists('cli-big:events')).toBe(0);
    expect(
      runWss(['publish', '--tenant', 'acme', '--type', 'order.created', '--data', '{"n":1}', '--no-check'], env).status,
    ).toBe(0);
  });
});
