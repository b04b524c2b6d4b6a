// Issue 7: one tenant's expression must never stop the fleet. A real `wss start` process,
// real Redis, a real receiver: runaway filters (stored straight into the registry, as an older
// version might have, or data-dependent so they pass the registration trial) fail alone, are
// dead-lettered with a reason that carries no data, break their endpoint after
// WSS_EXPR_BREAK_AFTER failures, and never stop other tenants, /healthz or SIGTERM.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic } from './helpers/dashboard-context.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { freePort, useTestRedis } from './helpers/redis-server.js';
import { runWss, spawnWss } from './helpers/wss-process.js';

const { redis } = useTestRedis();
let receiver: Receiver;
const dir = mkdtempSync(join(tmpdir(), 'wss-expr-'));
const PASSWORD = 'expr-test-password-123';
const SECRET = 'expr-test-secret-0123456789';
const CARD = '4111111111111111';

const RECURSION = '($f := function($x){ $f($x) }; $f(1))';
const REGEX = '$contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)';
// Passes the trial (no data.n on the sample event), recurses forever on real events.
const DATA_BOMB = '($f := function($x){ $f($x) }; data.n > 0 ? $f(data.n) : true)';

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
});

function tenantsFile(name: string, content: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(content));
  return p;
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('registration trial', () => {
  it('wss seed refuses a runaway filter naming tenant, endpoint and field, and writes nothing', async () => {
    const file = tenantsFile('evil.json', {
      tenants: [
        { id: 'good', endpoints: [{ id: 'a', url: 'https://x.example/a', secret: SECRET, filter: 'data.x = 1' }] },
        { id: 'evil', endpoints: [{ id: 'hook', url: 'https://x.example/h', secret: SECRET, filter: RECURSION }] },
      ],
    });
    const r = runWss(['seed', file], { REDIS_URL: redis().url, WSS_PREFIX: 'seedtrial' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /tenant "evil" endpoint "hook" field "filter": refused: on a sample event it failed with timeout/,
    );
    expect(await redis().client().exists('seedtrial:{registry}:endpoints')).toBe(0);
  });

  it('wss start refuses the same in TENANTS_FILE', () => {
    const file = tenantsFile('evil-start.json', {
      tenants: [
        { id: 'evil', endpoints: [{ id: 'hook', url: 'https://x.example/h', secret: SECRET, transform: REGEX }] },
      ],
    });
    const r = runWss(['start', '--role', 'bridge'], {
      REDIS_URL: redis().url,
      WSS_PREFIX: 'starttrial',
      TENANTS_FILE: file,
      WSS_HEALTH_PORT: '0',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/tenant "evil" endpoint "hook" field "transform": refused/);
  });
});

describe('wss start with runaway expressions', () => {
  it('keeps delivering other tenants, dead-letters the bad events, breaks the endpoint, and stops on SIGTERM', async () => {
    const port = await freePort();
    const prefix = 'e2e';
    const stream = 'e2e:events';
    const c = redis().client();
    const env = {
      REDIS_URL: redis().url,
      WSS_PREFIX: prefix,
      WSS_STREAM: stream,
      WSS_ALLOW_PRIVATE_URLS: 'true',
      WSS_DASHBOARD_PASSWORD: PASSWORD,
      PORT: String(port),
      WSS_BLOCK_MS: '100',
      WSS_REGISTRY_POLL_MS: '100',
      WSS_EXPR_BREAK_AFTER: '3',
      LOG_LEVEL: 'info',
      TENANTS_FILE: tenantsFile('e2e.json', {
        tenants: [
          {
            id: 'good',
            endpoints: [{ id: 'a', url: `${receiver.url}/good`, secret: SECRET, filter: "type = 'order.updated'" }],
          },
          {
            id: 'evil',
            endpoints: [{ id: 'data', url: `${receiver.url}/evil-data`, secret: SECRET, filter: DATA_BOMB }],
          },
        ],
      }),
    };
    // What an older version (no trial) might have stored: written straight into the registry.
    const stored = (id: string, extra: Record<string, unknown>) =>
      JSON.stringify({
        id,
        url: `${receiver.url}/evil-${id}`,
        secret: SECRET,
        events: ['*'],
        headers: {},
        timeoutMs: 10_000,
        retry: { attempts: 1, backoffMs: 100 },
        enabled: true,
        ...extra,
      });
    await c.hset(`${prefix}:{registry}:tenants`, 'evil', JSON.stringify({ id: 'evil' }));
    await c.hset(
      `${prefix}:{registry}:endpoints`,
      'evil/loop',
      stored('loop', { filter: RECURSION }),
      'evil/regex',
      stored('regex', { transform: REGEX }),
    );
    await c.incr(`${prefix}:{registry}:version`);

    const svc = spawnWss(['start'], env);
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    let healthFailures = 0;
    let healthChecks = 0;
    let polling = true;
    const health = (async () => {
      while (polling) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
          healthChecks++;
          if (res.status !== 200) healthFailures++;
        } catch {
          if (healthChecks > 0) healthFailures++;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await svc.waitForOutput(/webhook-sender started/);
      const publish = (tenant: string, id: string, data: unknown) =>
        c.xadd(stream, '*', 'tenant', tenant, 'type', 'order.updated', 'data', JSON.stringify(data), 'id', id);

      // Interleaved: every bad event sits between events of the other tenant.
      for (let i = 0; i < 4; i++) {
        await publish('evil', `bad-${i}`, { n: 1, card: CARD });
        await publish('good', `good-${i}`, { i });
      }
      const good = await until('the other tenant’s 4 deliveries', () => {
        const got = receiver.requests.filter((r) => r.path === '/good');
        return got.length >= 4 ? got : undefined;
      });
      expect(good.map((r) => r.headers['x-wss-event-id']).sort()).toEqual(['good-0', 'good-1', 'good-2', 'good-3']);

      // Each of the 3 evil endpoints: 3 failures (WSS_EXPR_BREAK_AFTER), then broken.
      const dead = await until('12 dead letters', async () => {
        const entries = (await c.xrange(`${stream}:dead`, '-', '+')) as Array<[string, string[]]>;
        const all = entries.map(
          ([, flat]) =>
            Object.fromEntries(
              Array.from({ length: flat.length / 2 }, (_, k) => [flat[2 * k], flat[2 * k + 1]]),
            ) as Record<string, string>,
        );
        return all.length >= 12 ? all : undefined;
      });
      for (const ep of ['loop', 'regex', 'data']) {
        const mine = dead.filter((d) => d['endpoint'] === ep);
        expect(mine.map((d) => d['id'])).toEqual(['bad-0', 'bad-1', 'bad-2', 'bad-3']);
        expect(mine.slice(0, 3).every((d) => /(filter|transform) failed: timeout: /.test(d['reason']!))).toBe(true);
        expect(mine[3]!['reason']).toMatch(
          new RegExp(`^endpoint "${ep}" is broken \\(3 expression failures in a row; last: .*timeout`),
        );
      }
      expect(dead.map((d) => d['reason']).join('\n')).not.toContain(CARD);
      expect(receiver.requests.filter((r) => r.path.startsWith('/evil'))).toEqual([]);

      // The admin API shows the endpoint as broken; re-registering it clears the mark.
      const shown = await until('broken in the admin API', async () => {
        const body = (await (await api('GET', '/api/tenants/evil/endpoints/data')).json()) as {
          broken?: { reason: string; since: string };
        };
        return body.broken;
      });
      expect(shown.reason).toMatch(/^3 expression failures in a row; last: filter timeout: /);
      expect(Number.isNaN(Date.parse(shown.since))).toBe(false);
      // Each endpoint's mark is written on its own; wait for all three rather than race them.
      const brokenIds = await until('all three broken in the list', async () => {
        const list = (await (await api('GET', '/api/tenants')).json()) as {
          tenants: Array<{ id: string; endpoints: Array<{ id: string; broken?: unknown }> }>;
        };
        const ids = list.tenants
          .find((t) => t.id === 'evil')!
          .endpoints.filter((e) => e.broken)
          .map((e) => e.id);
        return ids.length === 3 ? ids : undefined;
      });
      expect(brokenIds).toEqual(['data', 'loop', 'regex']);

      // The trial refuses a runaway expression at PUT, naming the field …
      const refused = await api('PUT', '/api/tenants/evil/endpoints/data', {
        url: `${receiver.url}/evil-data`,
        filter: RECURSION,
      });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toMatch(
        /endpoint "data" field "filter": refused: on a sample event it failed with timeout/,
      );
      for (const [field, bomb] of [
        ['filter', REGEX],
        ['transform', '($f := function($x){ $x + $f($x) }; $f(1))'],
        ['transform', '[1..100000000]'],
        ['filter', `${'['.repeat(3000)}1${']'.repeat(3000)}`],
      ]) {
        const res = await api('PUT', '/api/tenants/evil/endpoints/other', {
          url: `${receiver.url}/evil-other`,
          secret: SECRET,
          [field!]: bomb,
        });
        expect(res.status).toBe(400);
        // Deep nesting is already refused by the compile check (schema.ts), the others by the trial.
        expect(((await res.json()) as { problems: string[] }).problems).toEqual([
          expect.stringMatching(new RegExp(`field "${field}": (refused: |invalid jsonata: Maximum call stack)`)),
        ]);
      }
      expect((await api('GET', '/api/tenants/evil/endpoints/other')).status).toBe(404);
      // … and a fixed expression clears `broken`.
      const fixed = await api('PUT', '/api/tenants/evil/endpoints/data', {
        url: `${receiver.url}/evil-data`,
        filter: 'data.n > 0',
      });
      expect(fixed.status).toBe(200);
      expect(await fixed.json()).not.toHaveProperty('broken');
      await publish('evil', 'after-fix', { n: 1 });
      const [after] = await until('the fixed endpoint’s delivery', () => {
        const got = receiver.requests.filter((r) => r.path === '/evil-data');
        return got.length >= 1 ? got : undefined;
      });
      expect(after!.headers['x-wss-event-id']).toBe('after-fix');

      polling = false;
      await health;
      expect(healthChecks).toBeGreaterThan(5);
      expect(healthFailures).toBe(0);
      expect(svc.output()).not.toContain(CARD);
    } finally {
      polling = false;
      expect(await svc.kill('SIGTERM')).toBe(0);
    }
  });
});
