// Fleet-wide endpoint limits (docs/endpoint-limits.md): maxInFlight and rateLimit hold across
// worker processes, a killed worker's slots come back by lease expiry, and a 429 with
// Retry-After pauses the endpoint's other jobs. Real redis-server, real receivers, real worker
// processes (dist/cli.js).
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { endpointHealth } from '../src/dashboard/endpoint-health.js';
import { metricsRegistry } from '../src/lib/metrics.js';
import { endpoint, sleep, useWorkerTest, type Harness } from './helpers/worker-context.js';
import { spawnWss, type WssProcess } from './helpers/wss-process.js';

const { redis, cleanups, harness, receiver } = useWorkerTest();

const children: WssProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill('SIGKILL');
});

/** `wss start --role worker` as a child; resolves once BullMQ lists `expectWorkers` workers. */
async function spawnWorker(h: Harness, env: Record<string, string>, expectWorkers: number): Promise<WssProcess> {
  const w = spawnWss(['start', '--role', 'worker'], {
    REDIS_URL: redis().url,
    WSS_HEALTH_PORT: '0',
    WSS_PREFIX: h.prefix,
    WSS_ALLOW_PRIVATE_URLS: 'true',
    LOG_LEVEL: 'warn',
    ...env,
  });
  children.push(w);
  const deadline = Date.now() + 20_000;
  while ((await h.queue.getWorkersCount()) < expectWorkers) {
    if (w.proc.exitCode !== null) throw new Error(`worker exited with ${w.proc.exitCode}: ${w.output()}`);
    if (Date.now() > deadline) throw new Error(`worker did not register within 20 s: ${w.output()}`);
    await sleep(50);
  }
  return w;
}

/** A receiver that counts the requests it is answering at the same time (from arrival to the response's end). */
async function countingReceiver(delayMs: number) {
  const seen = { active: 0, peak: 0, events: [] as string[], attempts: [] as string[] };
  const server = createServer((req, res) => {
    seen.active++;
    seen.peak = Math.max(seen.peak, seen.active);
    seen.events.push(String(req.headers['x-wss-event-id']));
    seen.attempts.push(String(req.headers['x-wss-attempt']));
    res.once('finish', () => seen.active--);
    req.resume();
    req.on('end', () => setTimeout(() => res.end('ok'), delayMs));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

async function metric(name: string, label: string): Promise<number> {
  let sum = 0;
  for (const line of (await metricsRegistry.metrics()).split('\n'))
    if (line.startsWith(`${name}{`) && line.includes(label)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

// Each process alone would allow 10 in flight to one endpoint (WSS_ENDPOINT_CONCURRENCY).
const WIDE = { WSS_CONCURRENCY: '10', WSS_ENDPOINT_CONCURRENCY: '10' };

describe('fleet-wide endpoint limits', () => {
  it('maxInFlight 2 with two worker processes: the receiver never answers more than 2 at once; every delivery arrives on its first attempt', async () => {
    const capped = await countingReceiver(150);
    const other = await receiver(() => ({ status: 200 }));
    const h = await harness();
    await h.seed([endpoint('capped', capped.url, { maxInFlight: 2 }), endpoint('other', other.url)]);
    await spawnWorker(h, WIDE, 1);
    await spawnWorker(h, WIDE, 2);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await h.enqueue('capped', { eventId: `cap-${i}` })).jobId);
    const others: string[] = [];
    for (let i = 0; i < 10; i++) others.push((await h.enqueue('other', { eventId: `other-${i}` })).jobId);

    for (const id of others) await h.waitForState(id, 'completed', 30_000);
    // The capped endpoint's backlog does not hold the worker slots: the other endpoint is done first.
    expect(capped.seen.events.length).toBeLessThan(30);
    for (const id of ids) await h.waitForState(id, 'completed', 60_000);

    expect(capped.seen.peak).toBe(2);
    expect(new Set(capped.seen.events).size).toBe(30);
    expect(capped.seen.events).toHaveLength(30);
    expect(new Set(capped.seen.attempts)).toEqual(new Set(['1']));
    expect(other.requests).toHaveLength(10);
  }, 120_000);

  it('rateLimit 20 per second, 100 events, two worker processes: no window holds more than 20 (tolerance 200 ms), all 100 arrive', async () => {
    const rx = await receiver(() => ({ status: 200 }));
    const h = await harness();
    await h.seed([endpoint('limited', rx.url, { rateLimit: { max: 20, perMs: 1_000 } })]);
    await spawnWorker(h, WIDE, 1);
    await spawnWorker(h, WIDE, 2);
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push((await h.enqueue('limited', { eventId: `rate-${i}` })).jobId);
    for (const id of ids) await h.waitForState(id, 'completed', 60_000);

    const at = rx.requests.map((r) => r.at).sort((a, b) => a - b);
    expect(at).toHaveLength(100);
    expect(new Set(rx.requests.map((r) => r.headers['x-wss-event-id'])).size).toBe(100);
    expect(new Set(rx.requests.map((r) => r.headers['x-wss-attempt']))).toEqual(new Set(['1']));
    // Tokens are granted by Redis's clock; a request reaches the receiver some ms after its
    // grant, more on a busy machine. Windows are 1 s less that 200 ms of tolerance.
    let worst = 0;
    for (let i = 0; i < at.length; i++)
      worst = Math.max(worst, at.filter((t) => t >= at[i]! && t < at[i]! + 800).length);
    expect(worst).toBeLessThanOrEqual(20);
    // 100 at 20 per second: the first 20 at once, the last at least 4 s later.
    expect(at[99]! - at[0]!).toBeGreaterThanOrEqual(4_000 - 200);
  }, 120_000);

  it("a killed worker's slots come back once their lease lapses (WSS_ENDPOINT_LEASE_MS), not before", async () => {
    const LEASE_MS = 2_000;
    const rx = await receiver((req) =>
      String(req.headers['x-wss-event-id']).startsWith('hold') ? { status: 200, delayMs: 60_000 } : { status: 200 },
    );
    const h = await harness({ WSS_ENDPOINT_LEASE_MS: String(LEASE_MS) });
    await h.seed([endpoint('capped', rx.url, { maxInFlight: 2, timeoutMs: 90_000 })]);
    const a = await spawnWorker(h, { ...WIDE, WSS_ENDPOINT_LEASE_MS: String(LEASE_MS) }, 1);
    await h.enqueue('capped', { eventId: 'hold-1' });
    await h.enqueue('capped', { eventId: 'hold-2' });
    await rx.waitFor(2, 20_000);
    // Held well past one lease: the leases are being renewed.
    await sleep(LEASE_MS + 500);
    const slotsKey = `${h.prefix}:limits:acme:capped:slots`;
    const client = new Redis(redis().url);
    cleanups.push(async () => void (await client.quit()));
    expect(await client.zcard(slotsKey)).toBe(2);

    await a.kill('SIGKILL');
    const killedAt = Date.now();
    const after = await h.enqueue('capped', { eventId: 'after' });
    await h.startWorker();
    await h.waitForState(after.jobId, 'completed', 30_000);
    const arrived = rx.requests.find((r) => r.headers['x-wss-event-id'] === 'after')!.at;
    // The last renewal was at most a third of a lease before the kill.
    expect(arrived - killedAt).toBeGreaterThanOrEqual((LEASE_MS * 2) / 3 - 200);
    expect(arrived - killedAt).toBeLessThan(LEASE_MS + 10_000);
    expect(rx.requests.find((r) => r.headers['x-wss-event-id'] === 'after')!.headers['x-wss-attempt']).toBe('1');
  }, 120_000);

  it("a 429 with Retry-After pauses the endpoint's other jobs until it has passed, without spending their attempts", async () => {
    const rx = await receiver((_req, i) =>
      i === 0 ? { status: 429, headers: { 'Retry-After': '2' } } : { status: 200 },
    );
    const h = await harness({ WSS_CONCURRENCY: '4' });
    await h.seed([
      endpoint('limited', rx.url, { rateLimit: { max: 1_000, perMs: 1_000 }, retry: { attempts: 3, backoffMs: 100 } }),
    ]);
    const pausedBefore = await metric('wss_endpoint_throttled_total', 'reason="paused"');
    await h.startWorker();
    const first = await h.enqueue('limited', { eventId: 'first' });
    await rx.waitFor(1);
    const refusedAt = rx.requests[0]!.at;
    await sleep(200); // the pause is recorded when the 429's attempt ends
    // The health route reads the same Redis state: the pause, and the token the 429 spent.
    const probe = new Redis(redis().url);
    cleanups.push(() => probe.quit().then(() => undefined));
    const ep = (await h.registry.getEndpointConfig('acme', 'limited'))!;
    const health = await endpointHealth(probe, h.prefix, 'acme', ep, h.config.layout);
    expect(health.limits).toMatchObject({ maxInFlight: null, rateLimit: { max: 1_000, perMs: 1_000 } });
    expect(health.limits.pausedUntil).not.toBeNull();
    expect(Date.parse(health.limits.pausedUntil!)).toBeGreaterThan(Date.now());
    expect(health.limits.tokensLeft).toBeLessThan(1_000);
    const rest: string[] = [];
    for (let i = 0; i < 3; i++) rest.push((await h.enqueue('limited', { eventId: `later-${i}` })).jobId);
    for (const id of [first.jobId, ...rest]) await h.waitForState(id, 'completed', 30_000);

    for (const r of rx.requests.slice(1)) expect(r.at - refusedAt).toBeGreaterThanOrEqual(2_000 - 100);
    const attempts = Object.fromEntries(
      rx.requests.slice(1).map((r) => [r.headers['x-wss-event-id'], r.headers['x-wss-attempt']]),
    );
    expect(attempts).toEqual({ first: '2', 'later-0': '1', 'later-1': '1', 'later-2': '1' });
    expect(await metric('wss_endpoint_throttled_total', 'reason="paused"')).toBeGreaterThan(pausedBefore);
  }, 60_000);
});
