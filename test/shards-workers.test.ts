// A worker process over WSS_SHARDS=3: one WSS_CONCURRENCY shared by all the shards it consumes
// (counted at a real receiver), no shard starved by another, and WSS_WORKER_SHARDS pinning.
import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { ConfigError } from '../src/lib/errors.js';
import { deliveryJobOptions, JOB_NAME } from '../src/queue/job.js';
import { createScrapeGauges } from '../src/probes/scrape-gauges.js';
import { shardOf, shardQueueName } from '../src/redis/shards.js';
import { createDeliveryQueue } from './helpers/legacy-queue.js';
import { endpoint, sleep, useWorkerTest, waitUntil } from './helpers/worker-context.js';

const { harness, receiver, cleanups, redis } = useWorkerTest();
const layout = { count: 3, cluster: false };

/** Endpoint ids `e0`, `e1`, … that fall in each of the 3 shards, `perShard` per shard. */
function idsPerShard(perShard: number): string[][] {
  const out: string[][] = [[], [], []];
  for (let i = 0; out.some((s) => s.length < perShard); i++) {
    const k = shardOf('acme', `e${i}`, 3);
    if (out[k]!.length < perShard) out[k]!.push(`e${i}`);
  }
  return out;
}

/** A receiver that answers after `delayMs` and records the most requests it held at once. */
async function countingReceiver(delayMs: number) {
  let open = 0;
  let max = 0;
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    open++;
    max = Math.max(max, open);
    paths.push(req.url ?? '');
    req.resume();
    setTimeout(() => {
      open--;
      res.end('ok');
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${port}`, max: () => max, paths };
}

describe('workers over shards', () => {
  it('shares WSS_CONCURRENCY=2 across 3 shards: never more than 2 requests in flight', async () => {
    const rx = await countingReceiver(80);
    const h = await harness({ WSS_SHARDS: '3', WSS_CONCURRENCY: '2' });
    const shards = idsPerShard(2);
    const ids = shards.flat();
    await h.seed(ids.map((id) => endpoint(id, `${rx.url}/${id}`)));
    const jobs = [];
    for (let i = 0; i < 4; i++) for (const id of ids) jobs.push(await h.enqueue(id));
    // Every shard's queue holds jobs.
    for (const ref of h.queues.current) expect(await ref.queue.getWaitingCount()).toBe(8);
    // Jobs wait for a permit before they are fetched, not 'active' under a lock: sampled in one
    // MULTI (one Redis here), the three shards never hold more than 2 active jobs together.
    let maxActive = 0;
    let sampling = true;
    const conn = redis().client();
    const sampler = (async () => {
      while (sampling) {
        const m = conn.multi();
        for (const r of h.queues.current) m.llen(`${h.prefix}:${r.name}:active`);
        const counts = ((await m.exec()) ?? []).map(([, n]) => Number(n));
        maxActive = Math.max(
          maxActive,
          counts.reduce((a, b) => a + b, 0),
        );
        await sleep(5);
      }
    })();
    const w = await h.startWorker();
    expect(w.queueNames().sort()).toEqual(h.queues.current.map((r) => r.name).sort());
    await Promise.all(jobs.map((j) => h.waitForState(j.jobId, 'completed', 30_000)));
    sampling = false;
    await sampler;
    expect(rx.paths).toHaveLength(jobs.length);
    expect(rx.max()).toBe(2);
    expect(maxActive).toBe(2);
  });

  it('drains a backlog over 3 shards at WSS_CONCURRENCY=50 (permits pass from job to job)', async () => {
    // Regression: jobs fetched together with a finished one while their Worker waited for a
    // permit were never started, and every permit ended up held by such jobs.
    const rx = await receiver();
    const h = await harness({ WSS_SHARDS: '3', WSS_CONCURRENCY: '50' });
    const ids = Array.from({ length: 30 }, (_, i) => `e${i}`);
    await h.seed(ids.map((id) => endpoint(id, `${rx.url}/${id}`)));
    const jobs = [];
    for (let i = 0; i < 10; i++) for (const id of ids) jobs.push(await h.enqueue(id));
    await h.startWorker();
    await rx.waitFor(jobs.length, 20_000);
    expect(new Set(rx.requests.map((r) => r.headers['x-wss-event-id'] + r.path)).size).toBe(jobs.length);
  });

  it('serves every shard while one of them has a backlog (WSS_CONCURRENCY=1)', async () => {
    const rx = await countingReceiver(20);
    const h = await harness({ WSS_SHARDS: '3', WSS_CONCURRENCY: '1' });
    const [a, b, c] = idsPerShard(1).map((s) => s[0]!) as [string, string, string];
    await h.seed([a, b, c].map((id) => endpoint(id, `${rx.url}/${id}`)));
    const jobs = [];
    for (let i = 0; i < 10; i++) jobs.push(await h.enqueue(a));
    jobs.push(await h.enqueue(b), await h.enqueue(c));
    await h.startWorker();
    await Promise.all(jobs.map((j) => h.waitForState(j.jobId, 'completed', 30_000)));
    expect(rx.max()).toBe(1);
    // b and c are not left until a's ten are done: each is among the first deliveries.
    const order = rx.paths.map((p) => p.slice(1));
    expect(order.indexOf(b)).toBeLessThan(6);
    expect(order.indexOf(c)).toBeLessThan(6);
  });

  it('WSS_WORKER_SHARDS pins a worker to some shards; the others are left to other workers', async () => {
    const rx = await receiver();
    const h = await harness({ WSS_SHARDS: '3', WSS_WORKER_SHARDS: '2' });
    const [s1, s2, s3] = idsPerShard(1).map((s) => s[0]!) as [string, string, string];
    await h.seed([s1, s2, s3].map((id) => endpoint(id, `${rx.url}/${id}`)));
    const [j1, j2, j3] = [await h.enqueue(s1), await h.enqueue(s2), await h.enqueue(s3)];
    const w = await h.startWorker();
    expect(w.queueNames()).toEqual([shardQueueName(layout, 1)]);
    await h.waitForState(j2.jobId, 'completed');
    await sleep(300);
    expect(rx.requests.map((r) => r.path)).toEqual([`/${s2}`]);
    for (const j of [j1, j3])
      expect(await (await h.queues.forJobId(j.jobId)!.queue.getJob(j.jobId))!.getState()).toBe('waiting');
  });

  it('refuses a WSS_WORKER_SHARDS shard beyond WSS_SHARDS, naming the variable', () => {
    expect(parseConfig({ WSS_SHARDS: '3', WSS_WORKER_SHARDS: '1,3' }).worker.shards).toEqual([1, 3]);
    expect(parseConfig({ WSS_SHARDS: '3', WSS_WORKER_SHARDS: ' 3, 1,3 ' }).worker.shards).toEqual([1, 3]);
    expect(parseConfig({}).worker.shards).toBeUndefined();
    expect(() => parseConfig({ WSS_SHARDS: '3', WSS_WORKER_SHARDS: '2,4' })).toThrow(ConfigError);
    expect(() => parseConfig({ WSS_SHARDS: '3', WSS_WORKER_SHARDS: '2,4' })).toThrow(
      /WSS_WORKER_SHARDS.*4.*WSS_SHARDS is 3/,
    );
    expect(() => parseConfig({ WSS_WORKER_SHARDS: '0' })).toThrow(/WSS_WORKER_SHARDS/);
    expect(() => parseConfig({ WSS_WORKER_SHARDS: 'two' })).toThrow(/WSS_WORKER_SHARDS/);
  });

  it('sums the queue gauges and the tenant backlog over the shards and an old queue', async () => {
    const h = await harness({ WSS_SHARDS: '3' });
    const ids = idsPerShard(1).flat();
    await h.seed(ids.map((id) => endpoint(id, 'http://127.0.0.1:9/x')));
    for (const id of ids) for (let i = 0; i < 3; i++) await h.enqueue(id);
    // Two jobs left in the queue of an earlier WSS_SHARDS=1.
    const old = createDeliveryQueue(redis().client(), h.prefix);
    cleanups.push(() => old.close());
    const keep = { dedupTtlMs: 1_000, keepCompleted: { count: 10, age: 60 } };
    for (const e of ['o1', 'o2'])
      await old.add(
        JOB_NAME,
        { eventId: e, tenant: 'acme', endpoint: ids[0]!, type: 't', createdAt: 0, body: '{}' },
        deliveryJobOptions(`acme.${ids[0]}.${e}`, { attempts: 1, backoffMs: 10 }, keep),
      );
    const gauges = createScrapeGauges(redis().client(), h.queues, h.config);
    await waitUntil(
      'a connected client',
      async () => (await gauges.collect(), /^wss_redis_up 1$/m.test(await gauges.registry.metrics())),
    );
    const text = await gauges.registry.metrics();
    expect(text).toContain('wss_queue_jobs{state="waiting"} 11');
    expect(text).toContain('wss_tenant_backlog{tenant="acme"} 11');
  });
});
