// The signing routes of the admin API over real Redis and HTTP, with WSS_SECRETS_KEY set:
// rotate-secret (generated secrets returned once, 400s naming the field), Ed25519 deliveries
// verified by `openssl pkeyutl` with the published public keys, the optional public key URL,
// and no plaintext secret anywhere in Redis.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import type { RunningRole } from '../src/roles.js';
import { generateSecret } from '../src/signing/keys.js';
import { startWorker } from '../src/workers/worker.js';
import { verifySignature } from '../src/verify/index.js';
import { basic, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';
import { startReceiver, type Receiver, type Received } from './helpers/receiver.js';

const { redis } = useTestRedis();

const PASSWORD = 'signing-api-test-password';
const HMAC_SECRET = 'hmac-secret-0123456789abcdef';
const ED_KEY = generateSecret('standard-webhooks-ed25519');
const KEY = `k1:${randomBytes(32).toString('base64')}`;

let t: TestContext;
let dash: RunningDashboard;
let worker: RunningRole;
let rx: Receiver;
const responses: string[] = [];
const generated: string[] = [];

interface Body {
  error: string;
  problems: string[];
  secret?: string;
  publicKeys?: Array<{ publicKey: string; pem: string; expiresAt: string | null }>;
  keys?: Array<{ publicKey: string; pem: string; expiresAt: string | null }>;
  [k: string]: unknown;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  auth = true,
): Promise<{ status: number; json: Body }> {
  const res = await fetch(dash.url + path, {
    method,
    headers: {
      ...(auth ? { authorization: basic('admin', PASSWORD) } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  responses.push(text);
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Body };
}

/** `openssl pkeyutl -verify` of one v1a signature over "id.timestamp.body" with a PEM public key. */
function opensslVerifies(pem: string, req: Received, sigB64: string): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'wss-ed-'));
  try {
    writeFileSync(join(dir, 'pub.pem'), pem);
    writeFileSync(
      join(dir, 'msg'),
      `${String(req.headers['webhook-id'])}.${String(req.headers['webhook-timestamp'])}.${req.body}`,
    );
    writeFileSync(join(dir, 'sig'), Buffer.from(sigB64, 'base64'));
    try {
      execFileSync(
        'openssl',
        [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-inkey',
          join(dir, 'pub.pem'),
          '-rawin',
          '-in',
          join(dir, 'msg'),
          '-sigfile',
          join(dir, 'sig'),
        ],
        { stdio: 'pipe' },
      );
      return true;
    } catch {
      return false;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A receiver holding only `pem` accepts the request if one v1a entry verifies. */
function receiverAccepts(pem: string, req: Received): boolean {
  const entries = String(req.headers['webhook-signature']).split(' ');
  return entries.some((e) => e.startsWith('v1a,') && opensslVerifies(pem, req, e.slice(4)));
}

async function testDelivery(endpoint: string): Promise<Received> {
  const before = rx.requests.length;
  const res = await call('POST', `/api/tenants/acme/endpoints/${endpoint}/test`);
  expect(res.status).toBe(202);
  const got = await rx.waitFor(before + 1, 20_000);
  return got[before]!;
}

beforeAll(async () => {
  t = await startTestContext({ WSS_DASHBOARD_PASSWORD: PASSWORD, WSS_SECRETS_KEY: KEY }, redis());
  dash = await startDashboard(t.ctx);
  worker = await startWorker(t.ctx);
  rx = await startReceiver(() => ({ status: 204 }));
});

afterAll(async () => {
  await dash?.stop();
  await worker?.stop();
  await rx?.close();
  await t?.close();
  const logs = t.logs.join('');
  for (const s of [HMAC_SECRET, ED_KEY, ...generated])
    if (logs.includes(s)) throw new Error('a secret appeared in a log line');
});

describe('rotate-secret', () => {
  it('generates an HMAC secret, returns it once, and both secrets verify during the overlap', async () => {
    expect(
      (await call('PUT', '/api/tenants/acme/endpoints/orders', { url: `${rx.url}/orders`, secret: HMAC_SECRET }))
        .status,
    ).toBe(201);
    const r = await call('POST', '/api/tenants/acme/endpoints/orders/rotate-secret', { overlap: '1h' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ tenant: 'acme', endpoint: 'orders', scheme: 'wss', activeSecrets: 2 });
    const secret = r.json.secret!;
    generated.push(secret);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const shown = await call('GET', '/api/tenants/acme/endpoints/orders');
    expect(JSON.stringify(shown.json)).not.toContain(secret);
    expect(JSON.stringify(shown.json)).not.toContain(HMAC_SECRET);
    expect(shown.json.previousSecrets).toEqual([{ expiresAt: expect.stringMatching(/^\d{4}-/) as unknown }]);

    const req = await testDelivery('orders');
    const d = {
      body: req.body,
      timestamp: String(req.headers['x-wss-timestamp']),
      signature: String(req.headers['x-wss-signature']),
    };
    expect(verifySignature({ secret, ...d })).toBe(true);
    expect(verifySignature({ secret: HMAC_SECRET, ...d })).toBe(true);
  });

  it('refuses bad input with a 400 naming the field, and an unknown endpoint with 404', async () => {
    const path = '/api/tenants/acme/endpoints/orders/rotate-secret';
    const cases: Array<[unknown, string]> = [
      [{ overlap: '8d' }, 'field "overlap": must be at most 7 days'],
      [{ overlap: 'tomorrow' }, 'field "overlap": must be a duration'],
      [{ secret: 'short' }, 'field "secret": must be at least 16 characters'],
      [{ secret: HMAC_SECRET, secretEnv: 'WSS_SECRET_X' }, 'field "secret": give "secret" or "secretEnv", not both'],
      [{ secretEnv: 'PATH' }, 'field "secretEnv": must be an environment variable name starting with WSS_SECRET_'],
      [{ secrett: 'x' }, 'field "secrett": unknown field'],
    ];
    for (const [body, message] of cases) {
      const r = await call('POST', path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toContain(message);
    }
    expect((await call('POST', '/api/tenants/acme/endpoints/nope/rotate-secret', {})).status).toBe(404);
    expect(
      (
        await call('PUT', '/api/tenants/acme/endpoints/sw', {
          url: rx.url,
          secret: `whsec_${randomBytes(8).toString('base64')}`,
          signature: { scheme: 'standard-webhooks' },
        })
      ).json.error,
    ).toContain('field "secret": decodes to 8 bytes (must be 24 to 64)');
    expect(
      (
        await call('PUT', '/api/tenants/acme/endpoints/sw', {
          url: rx.url,
          secret: HMAC_SECRET,
          signature: { scheme: 'rsa' },
        })
      ).json.error,
    ).toContain('field "signature.scheme"');
    expect(
      (
        await call('PUT', '/api/tenants/acme/endpoints/ed', {
          url: rx.url,
          secret: 'whsk_bm90LWEta2V5',
          signature: { scheme: 'standard-webhooks-ed25519' },
        })
      ).json.error,
    ).toContain('field "secret": decodes to 9 bytes');
  });
});

describe('Ed25519', () => {
  it('deliveries verify with openssl and the published public keys; after the overlap the old key no longer verifies', async () => {
    const put = await call('PUT', '/api/tenants/acme/endpoints/ed', {
      url: `${rx.url}/ed`,
      secret: ED_KEY,
      signature: { scheme: 'standard-webhooks-ed25519' },
    });
    expect(put.status).toBe(201);
    const first = await call('GET', '/api/tenants/acme/endpoints/ed/public-keys');
    expect(first.status).toBe(200);
    expect(first.json.keys).toHaveLength(1);
    const oldPem = first.json.keys![0]!.pem;
    expect(oldPem).toContain('BEGIN PUBLIC KEY');
    expect(first.json.keys![0]!.publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);

    const r = await call('POST', '/api/tenants/acme/endpoints/ed/rotate-secret', { overlap: '2s' });
    expect(r.status).toBe(200);
    expect(r.json.secret).toBeUndefined(); // the private key is never returned
    expect(r.json.publicKeys).toHaveLength(2);
    const newPem = r.json.publicKeys![0]!.pem;
    expect(r.json.publicKeys![1]!.pem).toBe(oldPem);
    expect((await call('GET', '/api/tenants/acme/endpoints/ed/public-keys')).json.keys!.map((k) => k.pem)).toEqual([
      newPem,
      oldPem,
    ]);

    const during = await testDelivery('ed');
    expect(String(during.headers['webhook-signature'])).toMatch(/^v1a,\S+ v1a,\S+$/);
    expect(receiverAccepts(oldPem, during)).toBe(true);
    expect(receiverAccepts(newPem, during)).toBe(true);
    expect(receiverAccepts(newPem, { ...during, body: `${during.body} ` })).toBe(false);

    await new Promise((res) => setTimeout(res, 2_100));
    const after = await testDelivery('ed');
    expect(String(after.headers['webhook-signature'])).toMatch(/^v1a,\S+$/);
    expect(receiverAccepts(newPem, after)).toBe(true);
    expect(receiverAccepts(oldPem, after)).toBe(false);
    expect((await call('GET', '/api/tenants/acme/endpoints/ed/public-keys')).json.keys!.map((k) => k.pem)).toEqual([
      newPem,
    ]);
    expect((await call('GET', '/api/tenants/acme/endpoints/orders/public-keys')).status).toBe(409);
  });

  it('a new Ed25519 endpoint registered without a key gets a generated one: never returned, its public key verifies a delivery', async () => {
    const put = await call('PUT', '/api/tenants/acme/endpoints/gen', {
      url: `${rx.url}/gen`,
      signature: { scheme: 'standard-webhooks-ed25519' },
    });
    expect(put.status).toBe(201);
    expect(put.json.secretSet).toBe(true);
    expect(JSON.stringify(put.json)).not.toContain('whsk_');
    const keys = await call('GET', '/api/tenants/acme/endpoints/gen/public-keys');
    expect(keys.json.keys).toHaveLength(1);
    const req = await testDelivery('gen');
    expect(receiverAccepts(keys.json.keys![0]!.pem, req)).toBe(true);
    // A key named by secretEnv that this process lacks: 503 naming the variable; the public URL says only 404.
    const envEp = {
      url: rx.url,
      secretEnv: 'WSS_SECRET_ACME_ED_NOT_HERE',
      signature: { scheme: 'standard-webhooks-ed25519', publishPublicKey: true },
    };
    expect((await call('PUT', '/api/tenants/acme/endpoints/envkey', envEp)).status).toBe(201);
    const missing = await call('GET', '/api/tenants/acme/endpoints/envkey/public-keys');
    expect(missing.status).toBe(503);
    expect(missing.json.error).toContain('WSS_SECRET_ACME_ED_NOT_HERE');
    expect(await call('GET', '/keys/acme/envkey', undefined, false)).toEqual({
      status: 404,
      json: { error: 'not found' },
    });
    // An HMAC endpoint without a secret is still refused.
    expect((await call('PUT', '/api/tenants/acme/endpoints/nokey', { url: rx.url })).json.error).toContain(
      'give exactly one of "secret", "secretEnv" or "secrets"',
    );
  });

  it('the public key URL needs no auth, serves only opted-in Ed25519 endpoints, and answers the same 404 otherwise', async () => {
    const nf = await call('GET', '/keys/acme/ed', undefined, false);
    expect(nf).toEqual({ status: 404, json: { error: 'not found' } });
    expect(await call('GET', '/keys/acme/orders', undefined, false)).toEqual(nf);
    expect(await call('GET', '/keys/acme/missing', undefined, false)).toEqual(nf);
    expect(await call('GET', '/keys/nobody/ed', undefined, false)).toEqual(nf);
    const cur = await call('GET', '/api/tenants/acme/endpoints/ed');
    expect(
      (
        await call('PUT', '/api/tenants/acme/endpoints/ed', {
          url: cur.json.url,
          signature: { scheme: 'standard-webhooks-ed25519', publishPublicKey: true },
        })
      ).status,
    ).toBe(200);
    let pub = nf;
    for (let i = 0; i < 50 && pub.status !== 200; i++) {
      await new Promise((res) => setTimeout(res, 50));
      pub = await call('GET', '/keys/acme/ed', undefined, false);
    }
    expect(pub.status).toBe(200);
    expect(Object.keys(pub.json)).toEqual(['keys']);
    expect(pub.json.keys!.map((k) => Object.keys(k).sort())).toEqual([['expiresAt', 'pem', 'publicKey']]);
    const admin = await call('GET', '/api/tenants/acme/endpoints/ed/public-keys');
    expect(pub.json.keys![0]!.pem).toBe(admin.json.keys![0]!.pem);
  });

  it('refuses an inline Ed25519 key or a generated one when WSS_SECRETS_KEY is not set', async () => {
    const plain = await startTestContext({ WSS_DASHBOARD_PASSWORD: PASSWORD, WSS_PREFIX: 'plain' }, t.redis);
    const d2 = await startDashboard(plain.ctx);
    try {
      const res = await fetch(`${d2.url}/api/tenants/acme/endpoints/ed`, {
        method: 'PUT',
        headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
        body: JSON.stringify({ url: rx.url, secret: ED_KEY, signature: { scheme: 'standard-webhooks-ed25519' } }),
      });
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).toContain('field \\"secret\\": an Ed25519 private key is kept in Redis only encrypted');
      expect(text).not.toContain(ED_KEY);
      const put = await fetch(`${d2.url}/api/tenants/acme/endpoints/ed`, {
        method: 'PUT',
        headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
        body: JSON.stringify({
          url: rx.url,
          secretEnv: 'WSS_SECRET_ACME_ED_UNSET',
          signature: { scheme: 'standard-webhooks-ed25519' },
        }),
      });
      expect(put.status).toBe(201);
      const rot = await fetch(`${d2.url}/api/tenants/acme/endpoints/ed/rotate-secret`, {
        method: 'POST',
        headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
        body: JSON.stringify({ overlap: '1h' }),
      });
      expect(rot.status).toBe(400);
      expect(await rot.text()).toContain('set WSS_SECRETS_KEY, or give \\"secretEnv\\"');
    } finally {
      await d2.stop();
      await plain.close();
    }
  });
});

describe('secrets at rest', () => {
  it('with WSS_SECRETS_KEY no plaintext secret appears anywhere in Redis (SCAN over every key, every type)', async () => {
    const conn = t.redis.client();
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await conn.scan(cursor, 'COUNT', '1000');
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    expect(keys.length).toBeGreaterThan(5);
    let dump = '';
    for (const key of keys) {
      const type = await conn.type(key);
      if (type === 'string') dump += (await conn.get(key)) ?? '';
      else if (type === 'hash') dump += JSON.stringify(await conn.hgetall(key));
      else if (type === 'list') dump += JSON.stringify(await conn.lrange(key, 0, -1));
      else if (type === 'set') dump += JSON.stringify(await conn.smembers(key));
      else if (type === 'zset') dump += JSON.stringify(await conn.zrange(key, '0', '-1'));
      else if (type === 'stream') dump += JSON.stringify(await conn.xrange(key, '-', '+'));
      dump += '\n';
    }
    expect(dump).toContain('wss-enc:v1:k1:');
    expect(generated.length).toBeGreaterThan(0);
    for (const s of [HMAC_SECRET, ED_KEY, ...generated]) expect(dump).not.toContain(s);
  });
});
