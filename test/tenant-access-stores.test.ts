// The stores of tenant access on a real Redis: tokens kept only as hashes (no token text in
// any key or value), listed without secrets, revoked and expired by the clock passed in;
// portal links consumed once even by racing requests; sessions with idle and absolute ends,
// not revived after a logout; the per-tenant rate windows; the operator's allowances and the
// public-only flag they set on a tenant's endpoints.
import { describe, expect, it } from 'vitest';
import { accessKeys } from '../src/access/keys.js';
import { LinkStore } from '../src/access/links.js';
import { PolicyStore } from '../src/access/policy.js';
import { TenantRateLimiter } from '../src/access/rate.js';
import { SessionStore } from '../src/access/sessions.js';
import { MAX_TOKENS_PER_TENANT, TokenStore } from '../src/access/tokens.js';
import { createRedis } from '../src/redis/client.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/lib/log.js';
import { Registry } from '../src/tenants/registry.js';
import { parseEndpoint } from '../src/tenants/schema.js';
import { useTestRedis } from './helpers/redis-server.js';

const { redis } = useTestRedis();
const keys = accessKeys('wsta');
let clock = 1_800_000_000_000;
const now = () => clock;

async function everything(): Promise<string> {
  const c = redis().client();
  const all: string[] = [];
  for (const k of await c.keys('*')) {
    const type = await c.type(k);
    const v = type === 'string' ? await c.get(k) : type === 'hash' ? JSON.stringify(await c.hgetall(k)) : '';
    all.push(k, v ?? '');
  }
  return all.join('\n');
}

describe('tokens', () => {
  it('are stored as hashes only, listed without secrets, checked, revoked', async () => {
    const store = new TokenStore(redis().client(), keys, now);
    const { token, record } = await store.create('acme', { name: 'ci', readOnly: true });
    expect(record).toMatchObject({ tenant: 'acme', name: 'ci', readOnly: true, expiresAt: null });
    expect(await everything()).not.toContain(token);
    expect(await everything()).not.toContain(token.slice(5));
    expect(await store.check(token)).toEqual(record);
    expect(await store.check(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(await store.check('Bearer nonsense')).toBeUndefined();
    const listed = await store.list('acme');
    expect(listed).toEqual([{ ...record, expired: false }]);
    expect(JSON.stringify(listed)).not.toMatch(/hash/);
    expect(await store.list('globex')).toEqual([]);
    expect(await store.revoke('globex', record.id)).toBe(false);
    expect(await store.revoke('acme', record.id)).toBe(true);
    expect(await store.check(token)).toBeUndefined();
    expect(await store.list('acme')).toEqual([]);
  });

  it('expire at their lifetime by the clock, and are capped per tenant', async () => {
    const store = new TokenStore(redis().client(), keys, now);
    const { token } = await store.create('initech', { readOnly: false, lifetimeMs: 60_000 });
    clock += 59_999;
    expect(await store.check(token)).toBeDefined();
    clock += 1;
    expect(await store.check(token)).toBeUndefined();
    expect((await store.list('initech'))[0]!.expired).toBe(true);
    for (let i = 0; i < MAX_TOKENS_PER_TENANT; i++) await store.create('initech', { readOnly: false });
    await expect(store.create('initech', { readOnly: false })).rejects.toThrow(
      `tenant "initech" already holds ${MAX_TOKENS_PER_TENANT} live tokens (at most ${MAX_TOKENS_PER_TENANT}); revoke one first`,
    );
  });
});

describe('portal links', () => {
  it('open once, even when twenty requests race with the same code', async () => {
    const store = new LinkStore(redis().client(), keys, 300_000, now);
    const { code, record } = await store.create('acme', { readOnly: false });
    expect(await everything()).not.toContain(code);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => new LinkStore(redis().client(), keys, 300_000, now).consume(code)),
    );
    expect(results.filter((r) => r !== undefined)).toEqual([record]);
    expect(await store.consume(code)).toBeUndefined();
  });

  it('do not open at or after their expiry', async () => {
    const store = new LinkStore(redis().client(), keys, 300_000, now);
    const a = await store.create('acme', { readOnly: true });
    const b = await store.create('acme', { readOnly: true });
    clock += 299_999;
    expect(await store.consume(a.code)).toMatchObject({ readOnly: true });
    clock += 1;
    expect(await store.consume(b.code)).toBeUndefined();
  });
});

describe('sessions', () => {
  const limits = { idleMs: 60_000, maxMs: 300_000 };
  it('end when idle, at their maximum age, and on logout for good', async () => {
    const store = new SessionStore(redis().client(), keys, limits, now);
    const link = { id: 'lnk_1', tenant: 'acme', readOnly: false };
    const { sid, session } = await store.start(link);
    expect(await everything()).not.toContain(sid);
    clock += 59_999;
    expect(await store.touch(sid)).toMatchObject({ id: session.id, lastSeenMs: clock });
    clock += 60_000;
    expect(await store.touch(sid)).toBeUndefined();
    expect(await store.touch(sid)).toBeUndefined();

    const busy = await store.start(link);
    const start = clock;
    for (clock = start + 50_000; clock < start + 300_000; clock += 50_000)
      expect(await store.touch(busy.sid)).toBeDefined();
    clock = start + 300_000;
    expect(await store.touch(busy.sid)).toBeUndefined();

    const out = await store.start(link);
    await store.end(out.sid);
    expect(await store.touch(out.sid)).toBeUndefined();
    expect(await store.touch('wsss_not-a-session')).toBeUndefined();
  });
});

describe('rate windows', () => {
  it('count per tenant per minute, with the time to the next window', async () => {
    const rate = new TenantRateLimiter(redis().client(), keys, 3, now);
    clock = 1_800_000_040_000; // 40 s into a minute
    for (let i = 0; i < 3; i++) expect(await rate.take('acme')).toEqual({ ok: true });
    expect(await rate.take('acme')).toEqual({ ok: false, retryAfterMs: 20_000 });
    expect(await rate.take('globex')).toEqual({ ok: true });
    clock += 20_000;
    expect(await rate.take('acme')).toEqual({ ok: true });
  });
});

describe('allowances', () => {
  it('default to nothing, and move the public-only flag of the tenant’s own endpoints', async () => {
    const config = parseConfig({ REDIS_URL: redis().url, WSS_PREFIX: 'wsta' });
    const log = createLogger('silent');
    const client = createRedis(config, 'test', log);
    const registry = new Registry(client, 'wsta', log);
    try {
      const ep = (id: string, publicOnly?: boolean) =>
        parseEndpoint({
          id,
          url: 'https://e.example/h',
          secret: 'secret-0123456789abc',
          ...(publicOnly === undefined ? {} : { publicOnly }),
        });
      await registry.putEndpoint('acme', ep('mine', true));
      await registry.putEndpoint('acme', ep('operators'));
      const policies = new PolicyStore(client, keys);
      expect(await policies.get('acme')).toEqual({ allowPrivateUrls: false, allowExpressions: false });
      expect(await policies.set(registry, 'acme', { allowPrivateUrls: true })).toEqual({
        allowPrivateUrls: true,
        allowExpressions: false,
      });
      expect((await registry.getEndpointConfig('acme', 'mine'))?.publicOnly).toBe(false);
      expect((await registry.getEndpointConfig('acme', 'operators'))?.publicOnly).toBeUndefined();
      await policies.set(registry, 'acme', { allowExpressions: true });
      expect((await registry.getEndpointConfig('acme', 'mine'))?.publicOnly).toBe(false);
      await policies.set(registry, 'acme', { allowPrivateUrls: false });
      expect((await registry.getEndpointConfig('acme', 'mine'))?.publicOnly).toBe(true);
      expect(await policies.get('acme')).toEqual({ allowPrivateUrls: false, allowExpressions: true });
    } finally {
      registry.stop();
      client.disconnect();
    }
  });
});
