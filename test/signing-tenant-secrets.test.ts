// Tenant-bound secret variables (docs/signatures.md#secret-variables-belong-to-their-tenant): an
// endpoint of globex may not sign with acme's WSS_SECRET_ACME_… variable. Refused at `wss seed`,
// at `wss start` with TENANTS_FILE, by the admin API's PUT and rotate-secret and by
// `wss rotate-secret`, each naming tenant, endpoint, field and the allowed prefix. An endpoint
// stored before the rule is marked broken in the registry snapshot (the bridge dead-letters its
// events with the reason) and the worker refuses to sign its queued deliveries (a permanent
// SECRET_ENV_FORBIDDEN). Real Redis, real processes, a real receiver.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifySignature } from '../src/verify/index.js';
import type { EndpointConfig } from '../src/tenants/schema.js';
import {
  deadLetters,
  endpoint as bridgeEndpoint,
  isolatedEnv,
  useBridgeTest,
  waitUntil,
} from './helpers/bridge-context.js';
import { basic } from './helpers/dashboard-context.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startAllRoles } from './helpers/roles.js';
import { runWss } from './helpers/wss-process.js';

const { redis, cleanups, context } = useBridgeTest();
const PASSWORD = 'tenant-secrets-password';
const ACME_SECRET = 'acme-orders-secret-0123456789';
const GLOBEX_SECRET = 'globex-all-secret-0123456789';
// The worker reads WSS_SECRET_* from its environment: this process plays the operator.
process.env.WSS_SECRET_ACME_ORDERS = ACME_SECRET;
process.env.WSS_SECRET_GLOBEX_ALL = GLOBEX_SECRET;

const RULE = (tenant: string, name: string) =>
  `${name} is not a variable of tenant "${tenant}": its endpoints may only name variables starting with WSS_SECRET_${tenant.toUpperCase()}_`;

function tenantsFile(tenants: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'wss-tenant-secrets-'));
  const path = join(dir, 'tenants.json');
  writeFileSync(path, JSON.stringify({ tenants }));
  return path;
}

async function receiver(): Promise<Receiver> {
  const rx = await startReceiver(() => ({ status: 200 }));
  cleanups.push(() => rx.close());
  return rx;
}

describe("refusing another tenant's secret variable", () => {
  it('wss seed and wss start (TENANTS_FILE) refuse it naming tenant, endpoint, field and the prefix; nothing is written', async () => {
    const t = { url: 'https://hooks.example/x' };
    const file = tenantsFile([
      { id: 'acme', endpoints: [{ id: 'orders', ...t, secretEnv: 'WSS_SECRET_ACME_ORDERS' }] },
      {
        id: 'globex',
        endpoints: [
          { id: 'all', ...t, secretEnv: 'WSS_SECRET_ACME_ORDERS' },
          {
            id: 'rot',
            ...t,
            secrets: [
              { secretEnv: 'WSS_SECRET_GLOBEX_ROT' },
              { secretEnv: 'WSS_SECRET_ACME_OLD', expiresAt: '2030-01-01T00:00:00Z' },
            ],
          },
        ],
      },
      { id: 'my-co', endpoints: [{ id: 'a', ...t, secretEnv: 'WSS_SECRET_MY_CO_A' }] },
    ]);
    const env = { REDIS_URL: redis().url, WSS_PREFIX: 'seedrule' };
    const seeded = runWss(['seed', file], env);
    expect(seeded.status).toBe(1);
    expect(seeded.stderr).toContain(
      `tenant "globex" endpoint "all" field "secretEnv": ${RULE('globex', 'WSS_SECRET_ACME_ORDERS')}`,
    );
    expect(seeded.stderr).toContain(
      `tenant "globex" endpoint "rot" field "secrets.1.secretEnv": ${RULE('globex', 'WSS_SECRET_ACME_OLD')}`,
    );
    // acme's own and my-co's (hyphen as _) are fine: not named.
    expect(seeded.stderr).not.toContain('tenant "acme"');
    expect(seeded.stderr).not.toContain('tenant "my-co"');

    const started = runWss(['start', '--role', 'worker'], { ...env, TENANTS_FILE: file });
    expect(started.status).toBe(1);
    expect(started.stderr).toContain(
      `tenant "globex" endpoint "all" field "secretEnv": ${RULE('globex', 'WSS_SECRET_ACME_ORDERS')}`,
    );
    expect(await redis().client().exists('seedrule:{registry}:endpoints')).toBe(0);
  });

  it('the admin API (PUT, rotate-secret) and wss rotate-secret refuse it; an endpoint with its own variable delivers', async () => {
    const rx = await receiver();
    const t = await context(isolatedEnv({ WSS_DASHBOARD_PASSWORD: PASSWORD, PORT: '0', WSS_HEALTH_PORT: '0' }));
    const dash = await startAllRoles(t, cleanups);
    const call = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${dash.url}${path}`, {
        method,
        // No pooled socket: runWss (spawnSync) blocks this process, which also runs the dashboard.
        headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as { error: string; secretSet?: boolean } };
    };
    const put = await call('PUT', '/api/tenants/globex/endpoints/all', {
      url: `${rx.url}/globex`,
      secretEnv: 'WSS_SECRET_ACME_ORDERS',
    });
    expect(put.status).toBe(400);
    expect(put.json.error).toBe(
      `endpoint "all" of tenant "globex" is invalid: field "secretEnv": ${RULE('globex', 'WSS_SECRET_ACME_ORDERS')}`,
    );
    const prev = await call('PUT', '/api/tenants/globex/endpoints/all', {
      url: `${rx.url}/globex`,
      secretEnv: 'WSS_SECRET_GLOBEX_ALL',
      previousSecretEnv: 'WSS_SECRET_ACME_ORDERS',
      previousSecretExpiresAt: '2030-01-01T00:00:00Z',
    });
    expect(prev.status).toBe(400);
    expect(prev.json.error).toContain(`field "previousSecretEnv": ${RULE('globex', 'WSS_SECRET_ACME_ORDERS')}`);

    const ok = await call('PUT', '/api/tenants/globex/endpoints/all', {
      url: `${rx.url}/globex`,
      secretEnv: 'WSS_SECRET_GLOBEX_ALL',
    });
    expect(ok.status).toBe(201);
    const rot = await call('POST', '/api/tenants/globex/endpoints/all/rotate-secret', {
      secretEnv: 'WSS_SECRET_ACME_ORDERS',
    });
    expect(rot.status).toBe(400);
    expect(rot.json.error).toBe(
      `field "secretEnv": tenant "globex" endpoint "all" field "secretEnv": ${RULE('globex', 'WSS_SECRET_ACME_ORDERS')}`,
    );
    const cli = runWss(
      ['rotate-secret', '--tenant', 'globex', '--endpoint', 'all', '--secret-env', 'WSS_SECRET_ACME_ORDERS'],
      { REDIS_URL: redis().url, WSS_PREFIX: t.config.prefix },
    );
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain(
      `--secret-env: tenant "globex" endpoint "all" field "secretEnv": ${RULE('globex', 'WSS_SECRET_ACME_ORDERS')}`,
    );
    // Still globex's own variable, and it signs with it.
    expect((await t.registry.getEndpointConfig('globex', 'all'))?.secretEnv).toBe('WSS_SECRET_GLOBEX_ALL');
    const test = await call('POST', '/api/tenants/globex/endpoints/all/test', {});
    expect(test.status).toBe(202);
    const [req] = await rx.waitFor(1);
    expect(
      verifySignature({
        secret: GLOBEX_SECRET,
        body: req!.body,
        timestamp: String(req!.headers['x-wss-timestamp']),
        signature: String(req!.headers['x-wss-signature']),
      }),
    ).toBe(true);
  });
});

describe('an endpoint stored before the rule', () => {
  it('is marked broken (events dead-lettered with the reason), and its queued deliveries fail unsigned with SECRET_ENV_FORBIDDEN', async () => {
    const rx = await receiver();
    const t = await context(isolatedEnv({ WSS_DASHBOARD_PASSWORD: PASSWORD, PORT: '0', WSS_HEALTH_PORT: '0' }), {
      tenants: [{ id: 'globex', endpoints: [bridgeEndpoint('own', { url: `${rx.url}/own` })] }],
    });
    // Written as an older version would have: straight into the registry, no validation.
    const legacy = {
      id: 'legacy',
      url: `${rx.url}/legacy`,
      secretEnv: 'WSS_SECRET_ACME_ORDERS',
      events: ['*'],
      headers: {},
      timeoutMs: 2_000,
      retry: { attempts: 5, backoffMs: 50 },
      enabled: true,
    } as EndpointConfig;
    await t.registry.putEndpoint('globex', legacy);
    const dash = await startAllRoles(t, cleanups);

    // A delivery queued before the upgrade: the worker refuses to sign it, once, for good.
    const queue = t.queues.forEndpoint('globex', 'legacy').queue;
    const body = JSON.stringify({
      id: 'pre-1',
      type: 'order.created',
      tenant: 'globex',
      data: { chosen: 'by globex' },
    });
    await queue.add(
      'deliver',
      { eventId: 'pre-1', tenant: 'globex', endpoint: 'legacy', type: 'order.created', createdAt: Date.now(), body },
      { jobId: 'globex.legacy.pre-1', attempts: 5, backoff: { type: 'wss', delay: 50 }, removeOnFail: false },
    );
    await waitUntil(
      'the queued delivery failed',
      async () => (await queue.getJobState('globex.legacy.pre-1')) === 'failed',
    );
    const job = (await queue.getJob('globex.legacy.pre-1'))!;
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe(
      `SECRET_ENV_FORBIDDEN: tenant "globex" endpoint "legacy" field "secretEnv": ${RULE('globex', 'WSS_SECRET_ACME_ORDERS')}; nothing is signed with it: register the endpoint again with a variable of its own`,
    );

    // New events: dead-lettered by the bridge with the reason; the tenant's other endpoint delivers.
    await t.ctx.redis.xadd(
      t.config.stream,
      '*',
      'tenant',
      'globex',
      'type',
      'order.created',
      'data',
      '{}',
      'id',
      'post-1',
    );
    await rx.waitFor(1);
    await waitUntil('dead letter', async () => (await deadLetters(t)).length === 1);
    const [dead] = await deadLetters(t);
    expect(dead!.fields['reason']).toContain(RULE('globex', 'WSS_SECRET_ACME_ORDERS'));
    expect(rx.requests.map((r) => r.path)).toEqual(['/own']);

    // The admin API shows why.
    const res = await fetch(`${dash.url}/api/tenants/globex/endpoints/legacy`, {
      headers: { authorization: basic('admin', PASSWORD), connection: 'close' },
    });
    const shown = (await res.json()) as { broken?: { reason: string } };
    expect(shown.broken?.reason).toContain(RULE('globex', 'WSS_SECRET_ACME_ORDERS'));
  });
});
