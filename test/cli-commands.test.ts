import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../src/verify/index.js';
import { useTestRedis } from './helpers/redis-server.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { serviceEnv, runWss, spawnWss } from './helpers/wss-process.js';

const { redis } = useTestRedis();
let receiver: Receiver;
const dir = mkdtempSync(join(tmpdir(), 'wss-cli-'));
const SECRET = 'cli-test-secret-0123456789';

function tenantsFile(name: string, content: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
});

describe('wss CLI', () => {
  it('refuses a bad environment variable at start-up, naming it', () => {
    const r = runWss(['start'], { REDIS_URL: redis().url, WSS_CONCURRENCY: 'lots' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('WSS_CONCURRENCY');
    expect(r.stderr).toContain('lots');
  });

  it('refuses an invalid tenants file naming tenant, endpoint and field, and writes nothing', async () => {
    const bad = tenantsFile('bad.json', {
      tenants: [{ id: 'acme', endpoints: [{ id: 'orders', url: 'ftp://x', secret: 'at-least-16-chars-secret' }] }],
    });
    const r = runWss(['seed', bad], { REDIS_URL: redis().url, WSS_PREFIX: 'cli-bad' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/tenant "acme" endpoint "orders" field "url"/);
    expect(await redis().client().keys('cli-bad:*')).toEqual([]);
    const notJson = runWss(['seed', tenantsFile('broken.json', '{"tenants": [')], { REDIS_URL: redis().url });
    expect(notJson.status).toBe(1);
    expect(notJson.stderr).toMatch(/not JSON/);
  });

  it('seeds with upsert, and --replace makes the registry exactly the file', async () => {
    const env = { REDIS_URL: redis().url, WSS_PREFIX: 'cli-seed' };
    const ep = (id: string) => ({ id, url: 'https://hooks.example/' + id, secret: SECRET });
    expect(
      runWss(['seed', tenantsFile('a.json', { tenants: [{ id: 'a', endpoints: [ep('one')] }] })], env).stdout,
    ).toContain('seeded 1 tenant(s), 1 endpoint(s)');
    runWss(['seed', tenantsFile('b.json', { tenants: [{ id: 'b', endpoints: [ep('two')] }] })], env);
    const c = redis().client();
    expect((await c.hkeys('cli-seed:{registry}:endpoints')).sort()).toEqual(['a/one', 'b/two']);
    const r = runWss(['seed', '--replace', join(dir, 'b.json')], env);
    expect(r.stdout).toContain('registry replaced');
    expect(await c.hkeys('cli-seed:{registry}:endpoints')).toEqual(['b/two']);
    expect(await c.hkeys('cli-seed:{registry}:tenants')).toEqual(['b']);
  });

  it('prints the same signature as openssl', () => {
    const body = '{"id":"evt_1","data":{"x":1}}';
    const r = runWss(['sign', '--secret', SECRET, '--timestamp', '1700000000'], {}, body);
    const openssl = execFileSync('openssl', ['dgst', '-sha256', '-hmac', SECRET], {
      input: '1700000000' + body,
      encoding: 'utf8',
    })
      .trim()
      .split(/\s+/)
      .pop();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(openssl);
  });

  it('publish refuses a tenant the registry lacks (exit 1 naming it, nothing written) unless --no-check', async () => {
    const env = { REDIS_URL: redis().url, WSS_PREFIX: 'cli-check', WSS_STREAM: 'cli-check:events' };
    const file = tenantsFile('check.json', {
      tenants: [{ id: 'acme', endpoints: [{ id: 'orders', url: 'https://hooks.example/o', secret: SECRET }] }],
    });
    expect(runWss(['seed', file], env).status).toBe(0);
    const typo = runWss(['publish', '--tenant', 'acmee', '--type', 't', '--data', '1'], env);
    expect(typo.status).toBe(1);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toContain('wss: tenant "acmee" is not registered');
    expect(typo.stderr).toContain('--no-check');
    const c = redis().client();
    expect(await c.exists('cli-check:events')).toBe(0);
    expect(runWss(['publish', '--tenant', 'acme', '--type', 't', '--data', '1'], env).status).toBe(0);
    const early = runWss(['publish', '--tenant', 'acmee', '--type', 't', '--data', '2', '--no-check'], env);
    expect(early.status).toBe(0);
    const tenants = (await c.xrange('cli-check:events', '-', '+')).map(([, f]) => f[1]);
    expect(tenants).toEqual(['acme', 'acmee']);
  });

  it('publish --priority writes the field; a value other than high, normal or low is refused', async () => {
    const env = { REDIS_URL: redis().url, WSS_STREAM: 'prio:events' };
    const ok = runWss(
      ['publish', '--tenant', 'acme', '--type', 't', '--data', '1', '--priority', 'high', '--no-check'],
      env,
    );
    expect(ok.status).toBe(0);
    const bad = runWss(['publish', '--tenant', 'acme', '--type', 't', '--data', '1', '--priority', 'urgent'], env);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('field "priority" must be "high", "normal" or "low"');
    const { Redis } = await import('ioredis');
    const client = new Redis(redis().url);
    try {
      expect(await client.xrange('prio:events', '-', '+')).toEqual([
        [ok.stdout.trim(), ['tenant', 'acme', 'type', 't', 'data', '1', 'priority', 'high']],
      ]);
    } finally {
      client.disconnect();
    }
  });

  it('reports usage errors with exit code 2', () => {
    expect(runWss(['publish', '--tenant', 'a'], {}).status).toBe(2);
    expect(
      runWss(['publish', '--tenant', 'a', '--type', 't', '--data', '{nope'], { REDIS_URL: redis().url }).stderr,
    ).toContain('--data is not JSON');
    expect(runWss(['start', '--role', 'janitor'], { REDIS_URL: redis().url }).status).toBe(2);
    expect(runWss(['frobnicate'], {}).status).toBe(2);
  });

  it('a usage error is one line naming it and a pointer to --help; no command at all is exit 2 with the usage', () => {
    const unknown = runWss(['frobnicate'], {});
    expect(unknown.stderr).toBe(`wss: unknown command "frobnicate"\nrun 'wss --help' for the usage\n`);
    const flag = runWss(['publish', '--tenant', 'a', '--bogus'], {});
    expect(flag.status).toBe(2);
    expect(flag.stderr.trim().split('\n')).toHaveLength(2);
    expect(flag.stderr).toContain("Unknown option '--bogus'");
    const none = runWss([], {});
    expect(none.status).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('Usage:');
    const help = runWss(['--help'], {});
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage:');
    expect(help.stdout).toContain('--no-check');
  });

  it('start + seed + publish: the receiver gets one signed delivery', async () => {
    const env = serviceEnv(redis().url, 'cli-e2e', {
      WSS_DASHBOARD_AUTH: 'off',
      PORT: '0',
      TENANTS_FILE: tenantsFile('e2e.json', {
        tenants: [
          {
            id: 'acme',
            endpoints: [
              {
                id: 'orders',
                url: `${receiver.url}/orders`,
                secret: SECRET,
                events: ['order.*'],
                transform: "{ 'orderId': data.orderId }",
              },
            ],
          },
        ],
      }),
    });
    const svc = spawnWss(['start'], env);
    try {
      await svc.waitForOutput(/webhook-sender started/);
      const pub = runWss(
        [
          'publish',
          '--tenant',
          'acme',
          '--type',
          'order.updated',
          '--data',
          '{"orderId":"o-1","status":"shipped"}',
          '--id',
          'evt_cli_1',
        ],
        env,
      );
      expect(pub.status).toBe(0);
      expect(pub.stdout.trim()).toMatch(/^\d+-\d+$/);
      const [req] = await receiver.waitFor(1);
      expect(req!.path).toBe('/orders');
      expect(req!.body).toBe('{"orderId":"o-1"}');
      expect(req!.headers['x-wss-event-id']).toBe('evt_cli_1');
      expect(
        verifySignature({
          secret: SECRET,
          body: req!.body,
          timestamp: req!.headers['x-wss-timestamp'] as string,
          signature: req!.headers['x-wss-signature'] as string,
        }),
      ).toBe(true);
      expect(svc.output()).not.toContain(SECRET);
    } finally {
      expect(await svc.kill('SIGTERM')).toBe(0);
    }
  });
});
