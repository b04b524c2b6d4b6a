// The worker delivers signed requests and retries 5xx with growing gaps; the secret stays out
// of Redis and logs.
import { describe, expect, it } from 'vitest';
import { endpoint, pythonSignature, SECRET, TENANT, useWorkerTest } from './helpers/worker-context.js';

const { redis, harness, receiver } = useWorkerTest();

describe('worker delivery', () => {
  it('sends the exact body with all X-WSS headers and a signature an independent HMAC agrees with', async () => {
    const rx = await receiver(() => ({ status: 204 }));
    const h = await harness();
    await h.seed([endpoint('orders', `${rx.url}/hook?x=1`, { headers: { 'X-Source': 'acme-bus' } })]);
    const { jobId, data } = await h.enqueue('orders', { type: 'order.shipped' });
    await h.startWorker();
    const job = await h.waitForState(jobId, 'completed');

    expect(rx.requests).toHaveLength(1);
    const req = rx.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hook?x=1');
    expect(req.body).toBe(data.body);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['user-agent']).toMatch(/^webhook-sender\/\d+\.\d+\.\d+/);
    expect(req.headers['x-wss-event-id']).toBe(data.eventId);
    expect(req.headers['x-wss-event-type']).toBe('order.shipped');
    expect(req.headers['x-wss-attempt']).toBe('1');
    expect(req.headers['x-source']).toBe('acme-bus');
    const ts = String(req.headers['x-wss-timestamp']);
    expect(ts).toMatch(/^\d{10}$/);
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
    expect(req.headers['x-wss-signature']).toBe(pythonSignature(SECRET, ts, req.body));
    // A different secret gives a different signature: the check above can fail.
    expect(req.headers['x-wss-signature']).not.toBe(pythonSignature(`${SECRET}x`, ts, req.body));

    expect(job.returnvalue).toMatchObject({ status: 204, attempt: 1 });
    expect(job.attemptsMade).toBe(1);
  });

  it('500, 500, 200: delivered on attempt 3, same bytes, fresh timestamp and signature, growing gaps', async () => {
    const rx = await receiver((_req, i) => (i < 2 ? { status: 500, body: `boom ${i}` } : { status: 200, body: 'ok' }));
    const h = await harness();
    await h.seed([endpoint('orders', rx.url, { retry: { attempts: 5, backoffMs: 300 } })]);
    const { jobId, data } = await h.enqueue('orders');
    // A clock ten seconds further on at each attempt: the timestamp must be taken per attempt.
    await h.startWorker(() => Date.now() + 10_000 * rx.requests.length);
    const job = await h.waitForState(jobId, 'completed');

    const reqs = rx.requests;
    expect(reqs).toHaveLength(3);
    expect(reqs.map((r) => r.headers['x-wss-attempt'])).toEqual(['1', '2', '3']);
    const stamps = reqs.map((r) => Number(r.headers['x-wss-timestamp']));
    expect(stamps[1]! - stamps[0]!).toBeGreaterThanOrEqual(9);
    expect(stamps[2]! - stamps[1]!).toBeGreaterThanOrEqual(9);
    for (const r of reqs) {
      expect(r.body).toBe(data.body);
      expect(r.headers['x-wss-event-id']).toBe(data.eventId);
      expect(r.headers['x-wss-signature']).toBe(pythonSignature(SECRET, String(r.headers['x-wss-timestamp']), r.body));
    }
    expect(new Set(reqs.map((r) => r.headers['x-wss-signature'])).size).toBe(3);

    // 300 ms base, doubling, at most 20% jitter off: about 240-300 ms, then 480-600 ms.
    const gap1 = reqs[1]!.at - reqs[0]!.at;
    const gap2 = reqs[2]!.at - reqs[1]!.at;
    expect(gap1).toBeGreaterThanOrEqual(230);
    expect(gap2).toBeGreaterThanOrEqual(470);
    expect(gap2).toBeGreaterThan(gap1);

    expect(job.returnvalue).toMatchObject({ status: 200, attempt: 3, snippet: 'ok' });
    const logs = await h.jobLogs(jobId);
    expect(logs).toHaveLength(2);
    expect(logs[0]).toMatch(/^attempt 1: retry · HTTP 500 · \d+ ms · HTTP_STATUS: HTTP 500 · response: "boom 0"$/);
    expect(logs[1]).toMatch(/^attempt 2: retry · HTTP 500/);
  });

  it('one pino line per attempt with tenant, endpoint, event id, attempt, status, ms, outcome', async () => {
    const rx = await receiver((_req, i) => (i === 0 ? { status: 503 } : { status: 200 }));
    const h = await harness();
    await h.seed([endpoint('orders', rx.url)]);
    const { jobId, data } = await h.enqueue('orders');
    await h.startWorker();
    await h.waitForState(jobId, 'completed');
    const lines = h.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'delivery attempt');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      tenant: TENANT,
      endpoint: 'orders',
      eventId: data.eventId,
      attempt: 1,
      status: 503,
      outcome: 'retry',
    });
    expect(lines[1]).toMatchObject({
      tenant: TENANT,
      endpoint: 'orders',
      eventId: data.eventId,
      attempt: 2,
      status: 200,
      outcome: 'delivered',
    });
    for (const l of lines) expect(typeof l.ms).toBe('number');
  });

  it('reads a secretEnv secret at send time; a missing one is a retryable SECRET_UNAVAILABLE and nothing is sent', async () => {
    const rx = await receiver();
    const h = await harness();
    const present = 'WSS_SECRET_ACME_TEST_PRESENT';
    const secret = 'env-secret-0123456789-zyxw';
    process.env[present] = secret;
    try {
      await h.seed([
        { ...endpoint('with-env', rx.url), secret: undefined, secretEnv: present },
        {
          ...endpoint('without-env', rx.url, { retry: { attempts: 2, backoffMs: 50 } }),
          secret: undefined,
          secretEnv: 'WSS_SECRET_ACME_TEST_ABSENT',
        },
      ]);
      const ok = await h.enqueue('with-env');
      const missing = await h.enqueue('without-env');
      await h.startWorker();
      await h.waitForState(ok.jobId, 'completed');
      const failed = await h.waitForState(missing.jobId, 'failed');
      expect(failed.attemptsMade).toBe(2);
      expect(failed.failedReason).toMatch(/^SECRET_UNAVAILABLE: .*WSS_SECRET_ACME_TEST_ABSENT/);
      expect(rx.requests).toHaveLength(1);
      const r = rx.requests[0]!;
      expect(r.headers['x-wss-signature']).toBe(pythonSignature(secret, String(r.headers['x-wss-timestamp']), r.body));
    } finally {
      delete process.env[present];
    }
  });

  it('keeps the secret out of the job hash, job logs, failedReason and pino output', async () => {
    const rx = await receiver((_req, i) =>
      i === 0 ? { status: 500, body: 'server says no' } : { status: 400, body: 'bad' },
    );
    const h = await harness();
    await h.seed([endpoint('orders', rx.url)]);
    const { jobId } = await h.enqueue('orders');
    await h.startWorker();
    const job = await h.waitForState(jobId, 'failed');
    expect(rx.requests).toHaveLength(2);

    const raw = redis().client();
    const hash = await raw.hgetall(`${h.prefix}:deliveries:${jobId}`);
    expect(Object.keys(hash)).toContain('data');
    const logKey = await raw.lrange(`${h.prefix}:deliveries:${jobId}:logs`, 0, -1);
    expect(logKey.length).toBe(2);
    const everything = [JSON.stringify(hash), ...logKey, job.failedReason, ...h.logs].join('\n');
    // The haystack is real: it holds the body, the history and the reason.
    expect(everything).toContain('HTTP_STATUS: HTTP 400');
    expect(everything).toContain('server says no');
    expect(everything).not.toContain(SECRET);
    // The signature is derived from the secret; it is not stored either.
    expect(everything).not.toContain(String(rx.requests[0]!.headers['x-wss-signature']));
  });
});
