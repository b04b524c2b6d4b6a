// `wss seed` with WSS_SECRETS_KEY, `wss secrets reencrypt` after a key change, and
// `wss rotate-secret`, as real child processes against a real Redis; an in-process worker
// holding only the new key delivers before and after.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { verifySignature } from '../src/verify/index.js';
import { TENANT, useWorkerTest } from './helpers/worker-context.js';
import { runWss } from './helpers/wss-process.js';

const { redis, harness, receiver } = useWorkerTest();

const K1 = `k1:${randomBytes(32).toString('base64')}`;
const K2 = `k2:${randomBytes(32).toString('base64')}`;
const SECRET = 'cli-hmac-secret-0123456789';
const WHSEC = `whsec_${randomBytes(32).toString('base64')}`;

describe('wss secrets reencrypt and wss rotate-secret', () => {
  it('a key change plus reencrypt keeps every endpoint delivering; rotate-secret prints a new secret once and both verify', async () => {
    const rx = await receiver(() => ({ status: 204 }));
    const h = await harness({ WSS_SECRETS_KEY: K2 });
    const env = { REDIS_URL: redis().url, WSS_PREFIX: h.prefix, WSS_ALLOW_PRIVATE_URLS: 'true' };
    const dir = mkdtempSync(join(tmpdir(), 'wss-cli-sig-'));
    const file = join(dir, 'tenants.json');
    const eps = [
      { id: 'orders', url: `${rx.url}/orders`, secret: SECRET, retry: { attempts: 3, backoffMs: 100 } },
      {
        id: 'sw',
        url: `${rx.url}/sw`,
        secret: WHSEC,
        signature: { scheme: 'standard-webhooks' },
        retry: { attempts: 3, backoffMs: 100 },
      },
    ];
    writeFileSync(file, JSON.stringify({ tenants: [{ id: TENANT, endpoints: eps }] }));
    const seeded = runWss(['seed', file], { ...env, WSS_SECRETS_KEY: K1 });
    expect(seeded.stderr).toBe('');
    expect(seeded.status).toBe(0);
    const conn = redis().client();
    const hash = async () => JSON.stringify(await conn.hgetall(`${h!.prefix}:{registry}:endpoints`));
    expect(await hash()).toContain('wss-enc:v1:k1:');
    expect(await hash()).not.toContain(SECRET);
    expect(await hash()).not.toContain(WHSEC);

    // The worker holds only k2: secrets under k1 are unavailable (retryable), nothing is sent.
    await h.startWorker();
    const before = await h.enqueue('orders');
    const failed = await h.waitForState(before.jobId, 'failed');
    expect(failed.failedReason).toMatch(/^SECRET_UNAVAILABLE: .*key id "k1", which WSS_SECRETS_KEY does not hold/);
    expect(rx.requests).toHaveLength(0);

    const noKey = runWss(['secrets', 'reencrypt'], env);
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toContain('needs WSS_SECRETS_KEY');
    const re = runWss(['secrets', 'reencrypt'], { ...env, WSS_SECRETS_KEY: `${K2},${K1}` });
    expect(re.stderr).toBe('');
    expect(re.stdout).toContain('re-encrypted 2 endpoint(s) with key "k2"');
    expect(await hash()).toContain('wss-enc:v1:k2:');
    expect(await hash()).not.toContain('wss-enc:v1:k1:');

    const a = await h.enqueue('orders');
    const b = await h.enqueue('sw');
    await h.waitForState(a.jobId, 'completed');
    await h.waitForState(b.jobId, 'completed');
    const orders = rx.requests.find((r) => r.path === '/orders')!;
    expect(
      verifySignature({
        secret: SECRET,
        body: orders.body,
        timestamp: String(orders.headers['x-wss-timestamp']),
        signature: String(orders.headers['x-wss-signature']),
      }),
    ).toBe(true);
    const sw = rx.requests.find((r) => r.path === '/sw')!;
    expect(new StandardWebhook(WHSEC).verify(sw.body, sw.headers as Record<string, string>)).toBeTruthy();

    const bad = runWss(['rotate-secret', '--tenant', TENANT, '--endpoint', 'orders', '--overlap', '8d'], {
      ...env,
      WSS_SECRETS_KEY: K2,
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--overlap must be at most 7 days');
    const rot = runWss(['rotate-secret', '--tenant', TENANT, '--endpoint', 'orders', '--overlap', '1h'], {
      ...env,
      WSS_SECRETS_KEY: K2,
    });
    expect(rot.stderr).toBe('');
    expect(rot.stdout).toContain('rotated acme/orders: 2 active secret(s), overlap 1h');
    const fresh = /new secret: (\S+)/.exec(rot.stdout)![1]!;
    expect(await hash()).not.toContain(fresh);
    expect(await hash()).not.toContain(SECRET);

    const c = await h.enqueue('orders');
    await h.waitForState(c.jobId, 'completed');
    const last = rx.requests.at(-1)!;
    const d = {
      body: last.body,
      timestamp: String(last.headers['x-wss-timestamp']),
      signature: String(last.headers['x-wss-signature']),
    };
    expect(d.signature.split(' ')).toHaveLength(2);
    expect(verifySignature({ secret: fresh, ...d })).toBe(true);
    expect(verifySignature({ secret: SECRET, ...d })).toBe(true);
  });
});
