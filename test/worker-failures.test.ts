// What the worker does with answers other than 2xx, with timeouts, and with endpoints that
// are gone or disabled.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startReceiver } from './helpers/receiver.js';
import { endpoint, sleep, TENANT, useWorkerTest, waitUntil } from './helpers/worker-context.js';

const { harness, receiver } = useWorkerTest();

describe('worker failures', () => {
  it('400: exactly one attempt, job failed naming the status, snippet kept to 1 KB', async () => {
    const big = 'x'.repeat(100_000);
    const rx = await receiver(() => ({ status: 400, body: `invalid payload ${big}` }));
    const h = await harness();
    await h.seed([endpoint('orders', rx.url, { retry: { attempts: 5, backoffMs: 50 } })]);
    const { jobId } = await h.enqueue('orders');
    await h.startWorker();
    const job = await h.waitForState(jobId, 'failed');
    await sleep(300);
    expect(rx.requests).toHaveLength(1);
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('HTTP_STATUS: HTTP 400');
    // The dashboard's Error tab shows what happened, not a stack of server file paths.
    expect(job.stacktrace).toEqual(['UnrecoverableError: HTTP_STATUS: HTTP 400']);
    const logs = await h.jobLogs(jobId);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(
      /^attempt 1: failed · HTTP 400 · \d+ ms · HTTP_STATUS: HTTP 400 · response: "invalid payload x+"$/,
    );
    const snippet = JSON.parse(logs[0]!.slice(logs[0]!.indexOf('response: ') + 10)) as string;
    expect(snippet.length).toBe(1024);
  });

  it('3xx: the redirect is not followed and the job gives up at once', async () => {
    const rx = await receiver((req) =>
      req.path === '/moved' ? { status: 200 } : { status: 307, headers: { Location: '/moved' } },
    );
    const h = await harness();
    await h.seed([endpoint('orders', `${rx.url}/hook`)]);
    const { jobId } = await h.enqueue('orders');
    await h.startWorker();
    const job = await h.waitForState(jobId, 'failed');
    await sleep(300);
    expect(rx.requests.map((r) => r.path)).toEqual(['/hook']);
    expect(job.failedReason).toMatch(/^HTTP_STATUS: HTTP 307: redirects are not followed/);
  });

  it('timeout: a receiver slower than timeoutMs is retried, then delivered', async () => {
    const rx = await receiver((_req, i) => (i === 0 ? { status: 200, delayMs: 3_000 } : { status: 200 }));
    const h = await harness();
    await h.seed([endpoint('orders', rx.url, { timeoutMs: 300, retry: { attempts: 3, backoffMs: 50 } })]);
    const { jobId } = await h.enqueue('orders');
    await h.startWorker();
    const job = await h.waitForState(jobId, 'completed');
    expect(rx.requests).toHaveLength(2);
    expect(job.returnvalue).toMatchObject({ status: 200, attempt: 2 });
    const logs = await h.jobLogs(jobId);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^attempt 1: retry · no response · \d+ ms · TIMEOUT: timed out after 300 ms/);
  });

  it('a 2xx whose body stalls past timeoutMs counts as delivered (no retry, no duplicate)', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('accepted, still streaming'); // …and never ends
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const h = await harness();
      await h.seed([endpoint('orders', url, { timeoutMs: 300, retry: { attempts: 3, backoffMs: 50 } })]);
      const { jobId } = await h.enqueue('orders');
      await h.startWorker();
      const job = await h.waitForState(jobId, 'completed');
      expect(job.attemptsMade).toBe(1);
      expect(job.returnvalue).toMatchObject({ status: 200, attempt: 1 });
      expect(job.returnvalue.snippet).toContain('response body not read');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('429 with Retry-After: 2 waits about two seconds although backoffMs is 10', async () => {
    const rx = await receiver((_req, i) =>
      i === 0 ? { status: 429, headers: { 'Retry-After': '2' } } : { status: 200 },
    );
    const h = await harness();
    await h.seed([endpoint('orders', rx.url, { retry: { attempts: 3, backoffMs: 10 } })]);
    const { jobId } = await h.enqueue('orders');
    await h.startWorker();
    await h.waitForState(jobId, 'completed');
    expect(rx.requests).toHaveLength(2);
    expect(rx.requests[1]!.at - rx.requests[0]!.at).toBeGreaterThanOrEqual(1_950);
  });

  it('a network error (nothing listening) is retried until attempts run out', async () => {
    const rx = await startReceiver();
    const deadUrl = rx.url;
    await rx.close();
    const h = await harness();
    await h.seed([endpoint('orders', deadUrl, { retry: { attempts: 2, backoffMs: 20 } })]);
    const { jobId } = await h.enqueue('orders');
    await h.startWorker();
    const job = await h.waitForState(jobId, 'failed');
    expect(job.attemptsMade).toBe(2);
    expect(job.failedReason).toMatch(/^NETWORK: network error: ECONNREFUSED/);
  });

  it('410: the endpoint is disabled in the registry, the job fails, and a later job sends nothing', async () => {
    const rx = await receiver(() => ({ status: 410 }));
    const h = await harness();
    await h.seed([endpoint('orders', rx.url, { retry: { attempts: 5, backoffMs: 20 } })]);
    const first = await h.enqueue('orders');
    await h.startWorker();
    const job = await h.waitForState(first.jobId, 'failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/^ENDPOINT_GONE: HTTP 410/);
    expect((await h.registry.getEndpointConfig(TENANT, 'orders'))?.enabled).toBe(false);
    expect(h.logs.some((l) => l.includes('"level":40') && l.includes('410 Gone'))).toBe(true);

    // A disabled endpoint's jobs are kept (parked in the delayed set, no attempt spent) until
    // it is re-enabled (docs/circuit-breaker.md).
    const second = await h.enqueue('orders');
    await waitUntil(
      'the later job parked',
      async () => (await (await h.queue.getJob(second.jobId))?.getState()) === 'delayed',
    );
    expect((await h.queue.getJob(second.jobId))?.attemptsMade).toBe(0);
    expect((await h.registry.getEndpointConfig(TENANT, 'orders'))?.disabled?.reason).toBe(
      'the endpoint answered 410 Gone',
    );
    expect(rx.requests).toHaveLength(1);
  });

  it('a disabled endpoint keeps its jobs unsent and unspent; a deleted one fails with that reason; the receiver gets nothing', async () => {
    const rx = await receiver();
    const h = await harness();
    await h.seed([endpoint('off', rx.url, { enabled: false }), endpoint('doomed', rx.url)]);
    await h.registry.deleteEndpoint(TENANT, 'doomed');
    const off = await h.enqueue('off');
    const gone = await h.enqueue('doomed');
    await h.startWorker();
    const goneJob = await h.waitForState(gone.jobId, 'failed');
    expect(goneJob.failedReason).toBe('ENDPOINT_DELETED: endpoint acme/doomed no longer exists');
    await waitUntil(
      "the disabled endpoint's job parked",
      async () => (await (await h.queue.getJob(off.jobId))?.getState()) === 'delayed',
    );
    expect((await h.queue.getJob(off.jobId))?.attemptsMade).toBe(0);
    await sleep(200);
    expect(rx.requests).toHaveLength(0);
  });
});
