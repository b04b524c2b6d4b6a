// The registry at 100,000 endpoints (10,000 tenants × 10): processes load it in full once,
// then follow the change log, re-reading only what a change names (docs/registry.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySlot } from '../src/redis/shards.js';
import { parseEndpoint, parseTenantsFile } from '../src/tenants/schema.js';
import { Registry } from '../src/tenants/registry.js';
import { CHANGE_LOG_LENGTH, LOG_CHANGE_SCRIPT, registryKeys } from '../src/tenants/registry-log.js';
import { tenantId, writeBulkRegistry } from './helpers/registry-bulk.js';
import { basic } from './helpers/dashboard-context.js';
import { freePort, useTestRedis } from './helpers/redis-server.js';
import { serviceEnv, spawnWss } from './helpers/wss-process.js';

const PREFIX = 'scale';
const TENANTS = 10_000;
const PER_TENANT = 10;
const keys = registryKeys(PREFIX);
const { redis } = useTestRedis();
const running: Registry[] = [];

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A replica: its own connection, polling every 50 ms. */
async function replica(prefix = PREFIX): Promise<Registry> {
  const r = new Registry(redis().client(), prefix);
  await r.start(50);
  running.push(r);
  return r;
}

const endpointInput = (id: string, url = 'https://hooks.example/new') => ({
  id,
  url,
  secret: 'scale-secret-0123456789',
});

beforeAll(async () => {
  await writeBulkRegistry(redis().client(), PREFIX, { tenants: TENANTS, perTenant: PER_TENANT });
}, 60_000);
afterAll(() => running.forEach((r) => r.stop()));

describe('registry at 100,000 endpoints', () => {
  let a: Registry;
  let b: Registry;

  it('each replica loads the registry in full once at start', async () => {
    a = await replica();
    b = await replica();
    for (const r of [a, b]) {
      expect(r.loadStats().full).toEqual({ reloads: 1, endpoints: TENANTS * PER_TENANT });
      expect(r.snapshot().tenants.size).toBe(TENANTS);
      expect(r.endpoint(tenantId(TENANTS - 1), `e${PER_TENANT - 1}`)?.config.url).toBe('https://hooks.example/h');
    }
  });

  it('a change to one endpoint reaches both replicas, and each re-reads only that endpoint', async () => {
    const t7 = tenantId(7);
    const heldT7 = b.snapshot().tenants.get(t7)!;
    const heldT8 = b.snapshot().tenants.get(tenantId(8))!;
    // The write path of the admin API, auto-disable, the broken mark and secret rotation.
    await a.updateEndpoint(t7, 'e3', (ep) => ({ ...ep, url: 'https://changed.example/h', enabled: false }));
    await until('replica b to see the change', () => b.endpoint(t7, 'e3')?.config.url === 'https://changed.example/h');
    for (const r of [a, b]) {
      expect(r.loadStats()).toEqual({
        full: { reloads: 1, endpoints: TENANTS * PER_TENANT },
        incremental: { reloads: 1, endpoints: 1 },
      });
      expect(r.endpoint(t7, 'e3')?.config.enabled).toBe(false);
    }
    // Copy-on-write per tenant: what a consumer held is unchanged; other tenants are the same objects.
    expect(heldT7.endpoints.get('e3')?.config.url).toBe('https://hooks.example/h');
    expect(b.snapshot().tenants.get(t7)).not.toBe(heldT7);
    expect(b.snapshot().tenants.get(tenantId(8))).toBe(heldT8);
  });

  it('a deletion and tenant-level changes propagate the same way', async () => {
    const t7 = tenantId(7);
    const t9 = tenantId(9);
    expect(await a.deleteEndpoint(t7, 'e4')).toBe(true);
    await until('the deletion', () => b.endpoint(t7, 'e4') === undefined);
    expect(b.loadStats().incremental).toEqual({ reloads: 2, endpoints: 2 });

    // `wss seed` (upsert) of a renamed tenant with one endpoint, and of a new tenant.
    const file = parseTenantsFile({
      tenants: [
        { id: t9, name: 'Renamed', endpoints: [endpointInput('e0')] },
        { id: 'fresh', endpoints: [endpointInput('only')] },
      ],
    });
    await a.seed(file, { replace: false, force: true });
    await until('the new tenant', () => b.snapshot().tenants.has('fresh'));
    expect(b.snapshot().tenants.get(t9)?.meta).toEqual({ id: t9, name: 'Renamed' });
    expect(b.endpoint(t9, 'e0')?.config.url).toBe('https://hooks.example/new');
    expect(b.snapshot().tenants.get(t9)?.endpoints.size).toBe(PER_TENANT); // upsert: the others stay
    expect([...b.snapshot().tenants.get('fresh')!.endpoints.keys()]).toEqual(['only']);

    // The admin API's PUT of an endpoint of a tenant that does not exist yet creates both.
    await a.putEndpoint('newcomer', { ...b.endpoint(t9, 'e0')!.config, id: 'hook' });
    await until('the created tenant', () => b.endpoint('newcomer', 'hook') !== undefined);
    for (const r of [a, b]) {
      expect(r.loadStats().full.reloads).toBe(1);
      expect(r.loadStats().incremental.endpoints).toBe(5);
    }
  });

  it('a gap (the log trimmed past a replica’s version) falls back to one full reload', async () => {
    b.stop();
    const t3 = tenantId(3);
    await a.updateEndpoint(t3, 'e0', (ep) => ({ ...ep, enabled: false }));
    await a.updateEndpoint(t3, 'e1', (ep) => ({ ...ep, enabled: false }));
    await redis().client().xtrim(keys.changes, 'MAXLEN', 1);
    const before = b.loadStats();
    await b.refresh();
    const after = b.loadStats();
    expect(after.full.reloads).toBe(before.full.reloads + 1);
    expect(after.full.endpoints - before.full.endpoints).toBe(await redis().client().hlen(keys.endpoints));
    expect(after.incremental).toEqual(before.incremental);
    expect([b.endpoint(t3, 'e0')?.config.enabled, b.endpoint(t3, 'e1')?.config.enabled]).toEqual([false, false]);

    // And after the full reload it follows the log again.
    await a.updateEndpoint(t3, 'e2', (ep) => ({ ...ep, enabled: false }));
    await b.refresh();
    expect(b.loadStats().full.reloads).toBe(before.full.reloads + 1);
    expect(b.loadStats().incremental.reloads).toBe(before.incremental.reloads + 1);
    expect(b.endpoint(t3, 'e2')?.config.enabled).toBe(false);
  });

  it('the log stays bounded, and every registry key is in the {registry} slot', async () => {
    const c = redis().client();
    const p = c.pipeline();
    for (let i = 0; i < CHANGE_LOG_LENGTH + 2_000; i++)
      p.eval(LOG_CHANGE_SCRIPT, 2, keys.version, keys.changes, CHANGE_LOG_LENGTH, '{"t":[],"e":[]}');
    await p.exec();
    const length = await c.xlen(keys.changes);
    // MAXLEN ~ trims whole stream nodes (100 entries each by default).
    expect(length).toBeGreaterThanOrEqual(CHANGE_LOG_LENGTH);
    expect(length).toBeLessThanOrEqual(CHANGE_LOG_LENGTH + 100);
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await c.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1_000);
      cursor = next;
      batch.forEach((k) => found.add(k));
    } while (cursor !== '0');
    expect([...found].sort()).toEqual(Object.values(keys).sort());
    expect(new Set([...found].map(keySlot)).size).toBe(1);
  });

  it('`seed --replace` (a reset) and a version bumped by hand (no entry) make replicas reload in full', async () => {
    const small = 'scale-small';
    const writer = new Registry(redis().client(), small);
    await writer.seed(
      parseTenantsFile({ tenants: [{ id: 'x', endpoints: [endpointInput('one'), endpointInput('two')] }] }),
      {
        replace: false,
        force: true,
      },
    );
    const r = await replica(small);
    await writer.seed(parseTenantsFile({ tenants: [{ id: 'y', endpoints: [endpointInput('three')] }] }), {
      replace: true,
      force: true,
    });
    await until('the replaced registry', () => r.snapshot().tenants.has('y'));
    expect(r.snapshot().tenants.has('x')).toBe(false);
    expect(r.loadStats()).toEqual({ full: { reloads: 2, endpoints: 3 }, incremental: { reloads: 0, endpoints: 0 } });

    // A hand edit of the hash announced by a bare INCR of the version (no log entry).
    const k = registryKeys(small);
    await redis()
      .client()
      .hset(k.tenants, 'y', JSON.stringify({ id: 'y', name: 'Hand edited' }));
    await redis().client().incr(k.version);
    await until('the hand edit', () => r.snapshot().tenants.get('y')?.meta.name === 'Hand edited');
    expect(r.loadStats().full.reloads).toBe(3);
    // After a full reload it follows the log again.
    await writer.deleteEndpoint('y', 'three');
    await until('the deletion', () => r.endpoint('y', 'three') === undefined);
    expect(r.loadStats()).toEqual({ full: { reloads: 3, endpoints: 4 }, incremental: { reloads: 1, endpoints: 1 } });

    // An unreadable tenant record (hand edit) neither stops the load nor drops the tenant.
    await redis().client().hset(k.tenants, 'y', '{not json');
    await writer.putEndpoint('y', parseEndpoint(endpointInput('four')));
    await until('the endpoint of the hand-edited tenant', () => r.endpoint('y', 'four') !== undefined);
    expect(r.snapshot().tenants.get('y')?.meta).toEqual({ id: 'y' });
  });

  it('an admin API PUT of one endpoint: a worker and the dashboard each count 1 endpoint re-read on /metrics', async () => {
    const port = await freePort();
    const password = 'scale-dashboard-password-0123';
    const env = serviceEnv(redis().url, PREFIX, { WSS_REGISTRY_POLL_MS: '100' });
    const worker = spawnWss(['start', '--role', 'worker'], { ...env, WSS_HEALTH_PORT: '0' });
    const dashboard = spawnWss(['start', '--role', 'dashboard'], {
      ...env,
      PORT: String(port),
      WSS_DASHBOARD_PASSWORD: password,
    });
    const dashUrl = `http://127.0.0.1:${port}`;
    try {
      const workerUrl = /"url":"(http:[^"]+)","msg":"health server listening/.exec(
        await worker.waitForOutput(/health server listening/, 30_000),
      )![1]!;
      await dashboard.waitForOutput(/webhook-sender started/, 30_000);
      const loaded = async (url: string, mode: string) => {
        const text = await (await fetch(`${url}/metrics`)).text();
        const m = new RegExp(`^wss_registry_endpoints_loaded_total\\{mode="${mode}"\\} (\\d+)$`, 'm').exec(text);
        return m ? Number(m[1]) : 0;
      };
      const total = await redis().client().hlen(keys.endpoints);
      for (const url of [workerUrl, dashUrl]) {
        await until('the full load on /metrics', async () => (await loaded(url, 'full')) > 0, 30_000);
        expect(await loaded(url, 'full')).toBe(total);
        expect(await loaded(url, 'incremental')).toBe(0);
      }
      const t = tenantId(42);
      const res = await fetch(`${dashUrl}/api/tenants/${t}/endpoints/e5`, {
        method: 'PUT',
        headers: { authorization: basic('admin', password), 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'https://put.example/h', events: ['order.*'], enabled: false }),
      });
      expect(res.status).toBe(200);
      // Replica a (in this test process, polling) sees it too, with the stored secret kept.
      await until('the PUT in replica a', () => a.endpoint(t, 'e5')?.config.url === 'https://put.example/h');
      expect(a.endpoint(t, 'e5')?.config).toMatchObject({ enabled: false, secret: 'bulk-secret-0123456789abcdef' });
      for (const url of [workerUrl, dashUrl]) {
        await until('the change on /metrics', async () => (await loaded(url, 'incremental')) > 0);
        expect(await loaded(url, 'incremental')).toBe(1);
        expect(await loaded(url, 'full')).toBe(total);
      }
    } finally {
      await worker.kill();
      await dashboard.kill();
    }
  }, 60_000);
});
