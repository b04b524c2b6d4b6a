// Credentials an endpoint carries besides its signing secret: custom header values
// (Authorization, X-Api-Key) and the URL (user:password@, ?api_key=). With WSS_SECRETS_KEY they
// are encrypted at rest like secrets; the admin API shows them redacted; URL userinfo, which
// the HTTP client would never send, becomes the Authorization header it stands for. The
// custom headers are capped in number and size. Real Redis, dashboard, worker and receiver.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import type { RunningRole } from '../src/roles.js';
import type { EndpointConfig } from '../src/tenants/schema.js';
import { startWorker } from '../src/workers/worker.js';
import { basic, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { useTestRedis } from './helpers/redis-server.js';
import { runWss } from './helpers/wss-process.js';

const { redis } = useTestRedis();
const PASSWORD = 'endpoint-credentials-password';
const KEY = `k1:${randomBytes(32).toString('base64')}`;
const USER_PASS = 'p@ss:word-0123';
const QUERY_TOKEN = 'query-token-0123456789';
const API_KEY = 'api-key-value-0123456789';
const LEGACY_PASS = 'legacy-pass-0123456789';
const CREDENTIALS = [USER_PASS, encodeURIComponent(USER_PASS), QUERY_TOKEN, API_KEY, LEGACY_PASS];

let t: TestContext;
let dash: RunningDashboard;
let worker: RunningRole;
let rx: Receiver;

interface Answer {
  error: string;
  url: string;
  headers: Record<string, string>;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Answer; text: string }> {
  const res = await fetch(dash.url + path, {
    method,
    headers: {
      // spawnSync (runWss) blocks this process, which also runs the dashboard: no pooled socket.
      connection: 'close',
      authorization: basic('admin', PASSWORD),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as Answer, text };
}

async function redisDump(): Promise<string> {
  const conn = t.redis.client();
  let dump = '';
  let cursor = '0';
  do {
    const [next, keys] = await conn.scan(cursor, 'COUNT', '1000');
    cursor = next;
    for (const key of keys) {
      const type = await conn.type(key);
      if (type === 'string') dump += (await conn.get(key)) ?? '';
      else if (type === 'hash') dump += JSON.stringify(await conn.hgetall(key));
      else if (type === 'list') dump += JSON.stringify(await conn.lrange(key, 0, -1));
      else if (type === 'zset') dump += JSON.stringify(await conn.zrange(key, '0', '-1'));
      else if (type === 'stream') dump += JSON.stringify(await conn.xrange(key, '-', '+'));
      dump += '\n';
    }
  } while (cursor !== '0');
  return dump;
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
  for (const s of CREDENTIALS) if (logs.includes(s)) throw new Error('a credential appeared in a log line');
});

describe('credentials in the URL and in custom headers', () => {
  it('are sent as registered (userinfo as Authorization: Basic), encrypted in Redis and shown redacted', async () => {
    const port = new URL(rx.url).port;
    const url = `http://alice:${encodeURIComponent(USER_PASS)}@127.0.0.1:${port}/hook?api_key=${QUERY_TOKEN}&v=2`;
    const put = await call('PUT', '/api/tenants/acme/endpoints/creds', {
      url,
      secret: 'creds-secret-0123456789',
      headers: { 'X-Api-Key': API_KEY, 'X-Plain': 'shown' },
    });
    expect(put.status).toBe(201);
    const shownUrl = `http://127.0.0.1:${port}/hook?api_key=[hidden]&v=[hidden]`;
    expect(put.json.url).toBe(shownUrl);
    expect(put.json.headers).toEqual({ 'X-Api-Key': '[hidden]', 'X-Plain': 'shown', Authorization: '[hidden]' });
    const list = await call('GET', '/api/tenants');
    const one = await call('GET', '/api/tenants/acme/endpoints/creds');
    expect(one.json.url).toBe(shownUrl);
    for (const s of CREDENTIALS) {
      expect(list.text).not.toContain(s);
      expect(one.text).not.toContain(s);
    }

    const test = await call('POST', '/api/tenants/acme/endpoints/creds/test');
    expect(test.status).toBe(202);
    const [req] = await rx.waitFor(1);
    expect(req!.path).toBe(`/hook?api_key=${QUERY_TOKEN}&v=2`);
    expect(req!.headers['authorization']).toBe(`Basic ${Buffer.from(`alice:${USER_PASS}`).toString('base64')}`);
    expect(req!.headers['x-api-key']).toBe(API_KEY);
    expect(req!.headers['x-plain']).toBe('shown');

    const dump = await redisDump();
    expect(dump).toContain('wss-enc:v1:k1:');
    for (const s of [...CREDENTIALS, 'shown', Buffer.from(`alice:${USER_PASS}`).toString('base64')])
      expect(dump).not.toContain(s);
  });

  it('refuses userinfo together with an Authorization header, naming the field', async () => {
    const r = await call('PUT', '/api/tenants/acme/endpoints/both', {
      url: `http://bob:pw@127.0.0.1:1/x`,
      secret: 'both-secret-0123456789',
      headers: { authorization: 'Bearer t' },
    });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe(
      'endpoint "both" of tenant "acme" is invalid: field "url": carries credentials (user:password@) and the endpoint also sets an Authorization header: give one of them',
    );
  });

  it('an endpoint stored with userinfo by an older version sends it as Authorization, is shown without it, and reencrypt stores it sealed', async () => {
    const legacy = {
      id: 'legacy',
      url: `http://carol:${LEGACY_PASS}@127.0.0.1:${new URL(rx.url).port}/legacy`,
      secret: 'legacy-secret-0123456789',
      events: ['*'],
      headers: {},
      timeoutMs: 2_000,
      retry: { attempts: 2, backoffMs: 50 },
      enabled: true,
    } as EndpointConfig;
    // Raw, unencrypted JSON as the older version wrote it.
    await t.redis.client().hset('wsst:{registry}:endpoints', 'acme/legacy', JSON.stringify(legacy));
    await t.registry.refresh(true);
    const shown = await call('GET', '/api/tenants/acme/endpoints/legacy');
    expect(shown.json.url).toBe(`http://127.0.0.1:${new URL(rx.url).port}/legacy`);
    expect(shown.text).not.toContain(LEGACY_PASS);
    const before = rx.requests.length;
    expect((await call('POST', '/api/tenants/acme/endpoints/legacy/test')).status).toBe(202);
    const got = await rx.waitFor(before + 1);
    expect(got[before]!.headers['authorization']).toBe(
      `Basic ${Buffer.from(`carol:${LEGACY_PASS}`).toString('base64')}`,
    );

    const re = runWss(['secrets', 'reencrypt'], { REDIS_URL: t.redis.url, WSS_PREFIX: 'wsst', WSS_SECRETS_KEY: KEY });
    expect(re.stderr).toBe('');
    expect(re.status).toBe(0);
    const stored = (await t.redis.client().hget('wsst:{registry}:endpoints', 'acme/legacy'))!;
    expect(stored).not.toContain(LEGACY_PASS);
    expect((JSON.parse(stored) as { url: string }).url).toMatch(/^wss-enc:v1:k1:/);
  });
});

describe('custom header caps', () => {
  it('refuses more than 32 headers or more than 8192 bytes of them, at PUT and at seed, naming the field', async () => {
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`X-H${i}`, 'v']));
    const big = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`X-Big${i}`, 'x'.repeat(4_000)]));
    const base = { url: 'http://127.0.0.1:1/x', secret: 'caps-secret-0123456789' };
    const tooMany = await call('PUT', '/api/tenants/acme/endpoints/caps', { ...base, headers: many });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error).toBe(
      'endpoint "caps" of tenant "acme" is invalid: field "headers": at most 32 custom headers (33 given)',
    );
    const tooBig = await call('PUT', '/api/tenants/acme/endpoints/caps', { ...base, headers: big });
    expect(tooBig.status).toBe(400);
    expect(tooBig.json.error).toBe(
      'endpoint "caps" of tenant "acme" is invalid: field "headers": names and values of all custom headers may take at most 8192 bytes together (12018 given)',
    );
    const ok = await call('PUT', '/api/tenants/acme/endpoints/caps', {
      ...base,
      headers: Object.fromEntries(Object.entries(many).slice(0, 32)),
    });
    expect(ok.status).toBe(201);

    const dir = mkdtempSync(join(tmpdir(), 'wss-caps-'));
    const file = join(dir, 'tenants.json');
    writeFileSync(
      file,
      JSON.stringify({ tenants: [{ id: 'acme', endpoints: [{ id: 'seeded', ...base, headers: big }] }] }),
    );
    const seeded = runWss(['seed', file], {
      REDIS_URL: t.redis.url,
      WSS_PREFIX: 'wsst',
      WSS_ALLOW_PRIVATE_URLS: 'true',
    });
    expect(seeded.status).toBe(1);
    expect(seeded.stderr).toContain(
      'tenant "acme" endpoint "seeded" field "headers": names and values of all custom headers may take at most 8192 bytes together (12018 given)',
    );
  });
});
