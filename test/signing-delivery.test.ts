// Real deliveries, verified by code this project did not write: the `standardwebhooks` and
// `svix` packages for Standard Webhooks mode, and docs/wire-contract.md's Python and openssl snippets plus
// `verifySignature` for X-WSS rotation. Rotations are written the way the admin API and
// `wss rotate-secret` write them (registry.updateEndpoint + rotateSecret).
import { randomBytes } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { rotateSecret } from '../src/signing/rotate.js';
import { verifySignature } from '../src/verify/index.js';
import { endpoint, sleep, TENANT, type Harness, useWorkerTest } from './helpers/worker-context.js';
import { pythonReadmeVerifies, shellReadmeVerifies } from './helpers/readme-verifiers.js';
import { type Received } from './helpers/receiver.js';

const { redis, harness, receiver } = useWorkerTest();

const whsec = () => `whsec_${randomBytes(32).toString('base64')}`;
const OLD = 'old-xwss-secret-0123456789';
const NEW = 'new-xwss-secret-9876543210';

function swHeaders(r: Received): Record<string, string> {
  return {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  };
}

function xwss(r: Received) {
  return {
    body: r.body,
    timestamp: String(r.headers['x-wss-timestamp']),
    signature: String(r.headers['x-wss-signature']),
  };
}

async function rotate(harness: Harness, id: string, next: { secret: string }, overlapMs: number): Promise<void> {
  const nowMs = Date.now();
  await harness.registry.updateEndpoint(TENANT, id, (cur) => rotateSecret(cur, next, overlapMs, nowMs, TENANT));
}

describe('Standard Webhooks mode', () => {
  it('real deliveries verify with the standardwebhooks and svix packages, which reject a tampered body, a stale timestamp and a wrong secret', async () => {
    const secret = whsec();
    const rx = await receiver(() => ({ status: 204 }));
    const h = await harness();
    await h.seed([endpoint('sw', rx.url, { secret, signature: { scheme: 'standard-webhooks' } })]);
    const { jobId, data } = await h.enqueue('sw', { type: 'order.paid' });
    const w = await h.startWorker();
    await h.waitForState(jobId, 'completed');
    const req = rx.requests[0]!;

    expect(req.headers['webhook-id']).toBe(data.eventId);
    expect(String(req.headers['webhook-timestamp'])).toMatch(/^\d{10}$/);
    expect(String(req.headers['webhook-signature'])).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(req.headers['x-wss-event-id']).toBe(data.eventId);
    expect(req.headers['x-wss-event-type']).toBe('order.paid');
    expect(req.headers['x-wss-attempt']).toBe('1');
    expect(req.headers['x-wss-signature']).toBeUndefined();
    expect(req.headers['x-wss-timestamp']).toBeUndefined();

    expect(new StandardWebhook(secret).verify(req.body, swHeaders(req))).toEqual(JSON.parse(req.body));
    // svix's verify returns nothing on success and throws otherwise.
    expect(() => new SvixWebhook(secret).verify(req.body, swHeaders(req))).not.toThrow();
    const tampered = req.body.replace('o-1', 'o-2');
    expect(tampered).not.toBe(req.body);
    expect(() => new StandardWebhook(secret).verify(tampered, swHeaders(req))).toThrow(/No matching signature/);
    expect(() => new SvixWebhook(secret).verify(tampered, swHeaders(req))).toThrow(/No matching signature/);
    const other = whsec();
    expect(() => new StandardWebhook(other).verify(req.body, swHeaders(req))).toThrow(/No matching signature/);
    expect(() => new SvixWebhook(other).verify(req.body, swHeaders(req))).toThrow(/No matching signature/);
    // The webhook-id is signed: a replay with another id does not verify.
    expect(() =>
      new StandardWebhook(secret).verify(req.body, { ...swHeaders(req), 'webhook-id': 'evt-forged' }),
    ).toThrow(/No matching signature/);

    // A real delivery made with a clock 10 minutes behind: both libraries call it too old.
    await w.stop();
    const stale = await h.enqueue('sw');
    await h.startWorker(() => Date.now() - 600_000);
    await h.waitForState(stale.jobId, 'completed');
    const old = rx.requests[1]!;
    expect(() => new StandardWebhook(secret).verify(old.body, swHeaders(old))).toThrow(/too old/);
    expect(() => new SvixWebhook(secret).verify(old.body, swHeaders(old))).toThrow(/too old/);
  });

  it('during a rotation both the old and the new whsec_ secret verify with both libraries; after the overlap only the new one', async () => {
    const oldSecret = whsec();
    const newSecret = whsec();
    const rx = await receiver(() => ({ status: 204 }));
    const h = await harness();
    await h.seed([endpoint('sw', rx.url, { secret: oldSecret, signature: { scheme: 'standard-webhooks' } })]);
    await rotate(h, 'sw', { secret: newSecret }, 3_600_000);
    const a = await h.enqueue('sw');
    const w = await h.startWorker();
    await h.waitForState(a.jobId, 'completed');
    const during = rx.requests[0]!;
    expect(String(during.headers['webhook-signature'])).toMatch(/^v1,\S+ v1,\S+$/);
    for (const s of [oldSecret, newSecret]) {
      expect(new StandardWebhook(s).verify(during.body, swHeaders(during))).toBeTruthy();
      expect(() => new SvixWebhook(s).verify(during.body, swHeaders(during))).not.toThrow();
    }
    // Two hours on, the overlap is over.
    await w.stop();
    const b = await h.enqueue('sw');
    await h.startWorker(() => Date.now() + 7_200_000);
    await h.waitForState(b.jobId, 'completed');
    const after = rx.requests[1]!;
    expect(String(after.headers['webhook-signature'])).toMatch(/^v1,\S+$/);
    const ts = Number(after.headers['webhook-timestamp']);
    // Libraries check the timestamp against their own clock: verify with the signer's notion of now via the headers' time.
    const realNow = Date.now;
    Date.now = () => ts * 1000;
    try {
      expect(new StandardWebhook(newSecret).verify(after.body, swHeaders(after))).toBeTruthy();
      expect(() => new StandardWebhook(oldSecret).verify(after.body, swHeaders(after))).toThrow(
        /No matching signature/,
      );
    } finally {
      Date.now = realNow;
    }
  });
});

describe('X-WSS rotation with overlap', () => {
  it('tenants file: secretEnv + previousSecretEnv sign with both until the expiry; an unset previous variable is SECRET_UNAVAILABLE, not dropped', async () => {
    process.env.WSS_SECRET_ACME_SIG_NEW = NEW;
    process.env.WSS_SECRET_ACME_SIG_OLD = OLD;
    try {
      const rx = await receiver(() => ({ status: 200 }));
      const h = await harness();
      const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
      await h.seed([
        endpoint('env', rx.url, {
          secret: undefined,
          secretEnv: 'WSS_SECRET_ACME_SIG_NEW',
          previousSecretEnv: 'WSS_SECRET_ACME_SIG_OLD',
          previousSecretExpiresAt: expiresAt,
        }),
        endpoint('gone', rx.url, {
          secret: undefined,
          secretEnv: 'WSS_SECRET_ACME_SIG_NEW',
          previousSecretEnv: 'WSS_SECRET_ACME_SIG_UNSET',
          previousSecretExpiresAt: expiresAt,
        }),
      ]);
      const a = await h.enqueue('env');
      const b = await h.enqueue('gone');
      await h.startWorker();
      await h.waitForState(a.jobId, 'completed');
      const failed = await h.waitForState(b.jobId, 'failed');
      expect(failed.failedReason).toMatch(/^SECRET_UNAVAILABLE: .*WSS_SECRET_ACME_SIG_UNSET/);
      expect(rx.requests).toHaveLength(1);
      const d = xwss(rx.requests[0]!);
      expect(d.signature.split(' ')).toHaveLength(2);
      expect(verifySignature({ secret: OLD, ...d })).toBe(true);
      expect(verifySignature({ secret: NEW, ...d })).toBe(true);
    } finally {
      delete process.env.WSS_SECRET_ACME_SIG_NEW;
      delete process.env.WSS_SECRET_ACME_SIG_OLD;
    }
  });

  it('every attempt during the overlap verifies for a receiver holding only the old secret and one holding only the new: verifySignature, the documented Python and shell snippets', async () => {
    const rx = await receiver(() => ({ status: 200 }));
    const h = await harness();
    await h.seed([endpoint('orders', rx.url, { secret: OLD })]);
    await rotate(h, 'orders', { secret: NEW }, 3_600_000);
    const jobs = [await h.enqueue('orders'), await h.enqueue('orders'), await h.enqueue('orders')];
    await h.startWorker();
    for (const j of jobs) await h.waitForState(j.jobId, 'completed');
    expect(rx.requests).toHaveLength(3);
    for (const r of rx.requests) {
      const d = xwss(r);
      expect(d.signature).toMatch(/^[0-9a-f]{64} [0-9a-f]{64}$/);
      for (const secret of [OLD, NEW]) {
        expect(verifySignature({ secret, ...d })).toBe(true);
        expect(pythonReadmeVerifies(secret, d)).toBe(true);
        expect(shellReadmeVerifies(secret, d)).toBe(true);
      }
      // And the snippets can say no: a third secret, or a changed body.
      expect(pythonReadmeVerifies('some-other-secret-123456', d)).toBe(false);
      expect(shellReadmeVerifies('some-other-secret-123456', d)).toBe(false);
      expect(shellReadmeVerifies(NEW, { ...d, body: `${d.body} ` })).toBe(false);
      expect(pythonReadmeVerifies(NEW, { ...d, body: `${d.body} ` })).toBe(false);
    }
  });

  it('a retry that crosses the rotation carries the signatures valid at its send time; after the overlap the old secret fails and is removed from Redis', async () => {
    const rx = await receiver((_req, i) => ({ status: i < 2 ? 500 : 200 }));
    const h = await harness();
    // Gaps about 1 s then 2 s (at most 20 % shorter).
    await h.seed([endpoint('orders', rx.url, { secret: OLD, retry: { attempts: 3, backoffMs: 1_000 } })]);
    const { jobId } = await h.enqueue('orders');
    await h.startWorker();
    await rx.waitFor(1);
    // Right after attempt 1: rotate with a 1.5 s overlap. Attempt 2 (~1 s later) is inside it,
    // attempt 3 (~2.6 s or more later) is after it.
    await rotate(h, 'orders', { secret: NEW }, 1_500);
    await h.waitForState(jobId, 'completed', 30_000);
    const [a1, a2, a3] = rx.requests.map(xwss);
    expect(rx.requests.map((r) => r.headers['x-wss-attempt'])).toEqual(['1', '2', '3']);
    expect(a1!.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(verifySignature({ secret: OLD, ...a1! })).toBe(true);
    expect(() => verifySignature({ secret: NEW, ...a1! })).toThrow('signature does not match');
    expect(a2!.signature).toMatch(/^[0-9a-f]{64} [0-9a-f]{64}$/);
    expect(verifySignature({ secret: OLD, ...a2! })).toBe(true);
    expect(verifySignature({ secret: NEW, ...a2! })).toBe(true);
    expect(a3!.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(verifySignature({ secret: NEW, ...a3! })).toBe(true);
    expect(() => verifySignature({ secret: OLD, ...a3! })).toThrow('signature does not match');
    expect(pythonReadmeVerifies(OLD, a3!)).toBe(false);
    expect(shellReadmeVerifies(OLD, a3!)).toBe(false);
    expect(shellReadmeVerifies(NEW, a3!)).toBe(true);

    // The expired secret is gone from the stored endpoint (pruned by the registry's poll).
    const key = `${h.prefix}:{registry}:endpoints`;
    const conn = redis().client();
    let stored = '';
    for (let i = 0; i < 100; i++) {
      stored = (await conn.hget(key, `${TENANT}/orders`)) ?? '';
      if (!stored.includes(OLD)) break;
      await sleep(100);
    }
    expect(stored).toContain(NEW);
    expect(stored).not.toContain(OLD);
    expect(stored).not.toContain('previousSecrets');
  });
});
