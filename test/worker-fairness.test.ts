// A slow endpoint cannot take every worker slot: in-flight deliveries per endpoint are capped
// (WSS_ENDPOINT_CONCURRENCY) and jobs over the cap wait without losing an attempt.
import { describe, expect, it } from 'vitest';
import { endpoint, useWorkerTest } from './helpers/worker-context.js';

const { harness, receiver } = useWorkerTest();

describe('per-endpoint fairness', () => {
  it('caps a slow endpoint at WSS_ENDPOINT_CONCURRENCY while other endpoints keep flowing', async () => {
    const SLOW_MS = 1_000;
    const slow = await receiver(() => ({ status: 200, delayMs: SLOW_MS }));
    const fast = await receiver(() => ({ status: 200 }));
    const h = await harness({ WSS_CONCURRENCY: '4', WSS_ENDPOINT_CONCURRENCY: '1' });
    await h.seed([
      endpoint('slow', slow.url, { timeoutMs: 5_000, retry: { attempts: 2, backoffMs: 50 } }),
      endpoint('fast', fast.url),
    ]);
    // Slow jobs first: without the cap they would fill all four slots.
    const slowJobs = [];
    for (let i = 0; i < 4; i++) slowJobs.push(await h.enqueue('slow'));
    const fastJobs = [];
    for (let i = 0; i < 4; i++) fastJobs.push(await h.enqueue('fast'));
    await h.startWorker();

    await Promise.all(fastJobs.map((j) => h.waitForState(j.jobId, 'completed')));
    const done = await Promise.all(slowJobs.map((j) => h.waitForState(j.jobId, 'completed', 30_000)));

    // Every fast delivery happened while the first slow one was still in flight.
    const firstSlow = slow.requests[0]!.at;
    for (const r of fast.requests) expect(r.at).toBeLessThan(firstSlow + SLOW_MS);
    // One slow request at a time: each arrives after the previous one was answered.
    const at = slow.requests.map((r) => r.at);
    expect(at).toHaveLength(4);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(SLOW_MS - 50);
    // Deferral is not an attempt.
    for (const j of done) expect(j.attemptsMade).toBe(1);
    expect(slow.requests.map((r) => r.headers['x-wss-attempt'])).toEqual(['1', '1', '1', '1']);
  });
});
