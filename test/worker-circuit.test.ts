// The circuit breaker and auto-disable over real Redis, a real bridge, worker and admin API, and
// a receiver behind a port that can play dead (refused connections, counted). Counts, not
// clocks: while the circuit is open the receiver's accept counter and the jobs' attemptsMade
// must not move; once the receiver is back every job arrives. Auto-disable: a short
// WSS_DISABLE_AFTER disables the endpoint, the tenant's subscribed endpoint gets
// `wss.endpoint.disabled`, and re-enabling through the admin API delivers what was kept.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startDashboard } from '../src/dashboard/server.js';
import { type DeliveryQueue } from '../src/queue/job.js';
import { createDeliveryQueue } from './helpers/legacy-queue.js';
import { startBridge } from '../src/producers/bridge.js';
import { publishEvent } from '../src/queue/publish.js';
import { parseTenantsFile } from '../src/tenants/schema.js';
import { readCircuit } from '../src/endpoints/circuit.js';
import { startWorker } from '../src/workers/worker.js';
import { sleep, waitUntil } from './helpers/context.js';
import { basic, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { useTestRedis } from './helpers/redis-server.js';
import { startSwitchPort, type SwitchPort } from './helpers/switch-port.js';

const { redis, cleanups } = useTestRedis();
const PASSWORD = 'circuit-test-password';
const SECRET = 'whsec-circuit-0123456789-abcdef';

interface Service {
  t: TestContext;
  queue: DeliveryQueue;
  dashUrl: string;
  publish(type: string, n: number): Promise<string[]>;
  jobIds(endpoint: string): Promise<string[]>;
}

/** Bridge, worker and dashboard in this process on one prefix, with `endpoints` for tenant acme. */
async function service(env: Record<string, string>, endpoints: unknown[]): Promise<Service> {
  const prefix = `c${randomUUID().slice(0, 8)}`;
  const t = await startTestContext(
    {
      WSS_PREFIX: prefix,
      WSS_STREAM: `${prefix}:events`,
      WSS_DASHBOARD_PASSWORD: PASSWORD,
      WSS_CONCURRENCY: '4',
      WSS_BLOCK_MS: '100',
      ...env,
    },
    redis(),
  );
  await t.registry.seed(parseTenantsFile({ tenants: [{ id: 'acme', endpoints }] }), { replace: true, force: true });
  const queue = createDeliveryQueue(t.ctx.redis, prefix);
  const bridge = await startBridge(t.ctx);
  const worker = await startWorker(t.ctx);
  const dash = await startDashboard(t.ctx);
  cleanups.push(async () => {
    await Promise.allSettled([dash.stop(), worker.stop(), bridge.stop()]);
    await queue.close();
    await t.close();
  });
  return {
    t,
    queue,
    dashUrl: dash.url,
    async publish(type, n) {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = `e${i}-${randomUUID().slice(0, 6)}`;
        await publishEvent(t.ctx.redis, t.config.stream, { tenant: 'acme', type, data: { i }, id });
        ids.push(id);
      }
      return ids;
    },
    async jobIds(endpoint) {
      const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'prioritized', 'completed', 'failed']);
      return jobs.filter((j) => j?.data.endpoint === endpoint).map((j) => j.id!);
    },
  };
}

async function front(rx: Receiver): Promise<SwitchPort> {
  const port = await startSwitchPort(rx.port, 'refuse');
  cleanups.push(() => port.close());
  return port;
}

async function receiver(): Promise<Receiver> {
  const rx = await startReceiver();
  cleanups.push(() => rx.close());
  return rx;
}

async function attemptsOf(s: Service, ids: string[]): Promise<number[]> {
  return Promise.all(ids.map(async (id) => (await s.queue.getJob(id))?.attemptsMade ?? -1));
}

const distinctEvents = (rx: Receiver, type?: string) =>
  new Set(
    rx.requests
      .filter((r) => type === undefined || r.headers['x-wss-event-type'] === type)
      .map((r) => r.headers['x-wss-event-id']),
  ).size;

const ep = (id: string, url: string, extra: Record<string, unknown> = {}) => ({
  id,
  url: `${url}/hook`,
  secret: SECRET,
  timeoutMs: 2_000,
  retry: { attempts: 20, backoffMs: 100 },
  ...extra,
});

describe('circuit breaker', () => {
  it('a dead endpoint: the circuit opens after N failures, nothing is attempted while open, and every job arrives once it is back', async () => {
    const rx = await receiver();
    const dead = await front(rx);
    const N = 3;
    const s = await service({}, [
      ep('dead', dead.url, { events: ['order.*'], circuit: { failures: N, coolDownMs: 4_000 } }),
    ]);
    const events = await s.publish('order.created', 12);
    await waitUntil('12 jobs queued', async () => (await s.jobIds('dead')).length === 12, 15_000);
    const ids = await s.jobIds('dead');

    await waitUntil(
      'the circuit to open',
      async () =>
        (await readCircuit(s.t.ctx.redis, s.t.config.prefix, 'acme', 'dead', s.t.config.layout)).state === 'open',
      20_000,
    );
    // Requests already in flight when it opened fail at once (connection reset); let them settle.
    await sleep(300);
    const opened = await readCircuit(s.t.ctx.redis, s.t.config.prefix, 'acme', 'dead', s.t.config.layout);
    expect(opened.state).toBe('open');
    const acceptsAtOpen = dead.accepts();
    // N failures open it; at most the worker's other in-flight requests (concurrency 4) add to them.
    expect(acceptsAtOpen).toBeGreaterThanOrEqual(N);
    expect(acceptsAtOpen).toBeLessThanOrEqual(N + 3);
    const attemptsAtOpen = await attemptsOf(s, ids);
    expect(attemptsAtOpen.reduce((a, b) => a + b, 0)).toBe(acceptsAtOpen);

    // Watch the open circuit until shortly before its cool-down ends.
    let checks = 0;
    while (Date.now() < opened.openUntil! - 400) {
      expect(dead.accepts()).toBe(acceptsAtOpen);
      checks++;
      await sleep(200);
    }
    expect(checks).toBeGreaterThan(2);
    expect(await attemptsOf(s, ids)).toEqual(attemptsAtOpen);
    const health = await fetch(`${s.dashUrl}/api/tenants/acme/endpoints/dead/health`, {
      headers: { authorization: basic('admin', PASSWORD) },
    });
    const body = (await health.json()) as { circuit: { state: string }; recentFailures: Array<{ reason: string }> };
    expect(body.circuit.state).toBe('open');
    expect(body.recentFailures.length).toBeGreaterThanOrEqual(N);
    expect(body.recentFailures[0]!.reason).toMatch(/^NETWORK: /);
    const metrics = await (await fetch(`${s.dashUrl}/metrics`)).text();
    expect(metrics).toContain('wss_endpoint_circuit_state{tenant="acme",endpoint="dead"} 2');
    expect(metrics).toContain('wss_tenant_backlog{tenant="acme"} 12');

    // The receiver comes back: one probe closes the circuit, then everything is delivered.
    dead.mode('forward');
    await waitUntil('all 12 events delivered', () => distinctEvents(rx) === 12, 30_000);
    expect([...new Set(rx.requests.map((r) => r.headers['x-wss-event-id']))].sort()).toEqual([...events].sort());
    await waitUntil('every job completed', async () => {
      const states = await Promise.all(ids.map(async (id) => (await s.queue.getJob(id))?.getState()));
      return states.every((st) => st === 'completed');
    });
    expect((await readCircuit(s.t.ctx.redis, s.t.config.prefix, 'acme', 'dead', s.t.config.layout)).state).toBe(
      'closed',
    );
  }, 90_000);

  it('two worker replicas share one circuit: each cool-down ends with exactly one probe from one of them', async () => {
    const rx = await receiver();
    const dead = await front(rx);
    const s = await service({}, [
      ep('dead', dead.url, { events: ['order.*'], circuit: { failures: 3, coolDownMs: 1_500 } }),
    ]);
    const second = await startWorker(s.t.ctx);
    cleanups.push(() => second.stop());
    await s.publish('order.created', 16);
    const circuit = () => readCircuit(s.t.ctx.redis, s.t.config.prefix, 'acme', 'dead', s.t.config.layout);
    await waitUntil('the circuit to open', async () => (await circuit()).opens === 1, 20_000);
    await sleep(600); // requests in flight at the open settle (the probe comes after 1 s)
    expect((await circuit()).opens).toBe(1);
    const acceptsAtFirstOpen = dead.accepts();
    // Cool-downs of 1 and 2 s, each ended by one probe that fails and opens it again.
    await waitUntil('two failed probes', async () => (await circuit()).opens === 3, 40_000);
    expect(dead.accepts() - acceptsAtFirstOpen).toBe(2);
    dead.mode('forward');
    await waitUntil('all 16 events delivered', () => distinctEvents(rx) === 16, 60_000);
  }, 120_000);

  it('auto-disable: the endpoint is disabled, the tenant hears wss.endpoint.disabled, and re-enabling delivers what was queued', async () => {
    const rx = await receiver();
    const ops = await receiver();
    const dead = await front(rx);
    const s = await service({ WSS_DISABLE_AFTER: '1500ms' }, [
      ep('dead', dead.url, { events: ['order.*'], circuit: { failures: 2, coolDownMs: 200 } }),
      ep('ops', ops.url, { events: ['wss.endpoint.*'] }),
    ]);
    const events = await s.publish('order.created', 6);

    await waitUntil(
      'the endpoint disabled',
      async () => (await s.t.registry.getEndpointConfig('acme', 'dead'))?.enabled === false,
      30_000,
    );
    const stored = await s.t.registry.getEndpointConfig('acme', 'dead');
    expect(stored?.disabled?.reason).toMatch(/^no success for 1\.5 s \(WSS_DISABLE_AFTER\); last failure: NETWORK: /);
    // The line follows the registry write: the registry can show it a moment before it is logged.
    await waitUntil('the disable logged', () => s.t.logs.some((l) => l.includes('endpoint disabled')), 5_000);

    await ops.waitFor(1, 20_000);
    const note = ops.requests.find((r) => r.headers['x-wss-event-type'] === 'wss.endpoint.disabled')!;
    const env = JSON.parse(note.body) as { type: string; tenant: string; data: Record<string, unknown> };
    expect(env).toMatchObject({ type: 'wss.endpoint.disabled', tenant: 'acme' });
    expect(env.data).toEqual({
      endpoint: 'dead',
      reason: stored!.disabled!.reason,
      disabledAt: stored!.disabled!.since,
    });
    expect(note.headers['x-wss-signature']).toBeDefined();

    // Disabled: its jobs are kept (none failed), and nothing is attempted.
    // A job that was in flight when the endpoint was disabled settles first, and one whose short
    // retry delay ran out comes back once to be parked: on a loaded machine that takes a moment.
    const ids = await s.jobIds('dead');
    expect(ids).toHaveLength(6);
    const stateOf = () => Promise.all(ids.map(async (id) => (await s.queue.getJob(id))!.getState()));
    await waitUntil(
      'all 6 jobs parked as delayed',
      async () => (await stateOf()).every((st) => st === 'delayed'),
      10_000,
    );
    const accepts = dead.accepts();
    await sleep(500);
    expect(dead.accepts()).toBe(accepts);

    // Back, and enabled again through the admin API: every kept job is delivered.
    dead.mode('forward');
    const res = await fetch(`${s.dashUrl}/api/tenants/acme/endpoints/dead`, {
      method: 'PUT',
      headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${dead.url}/hook`, events: ['order.*'], timeoutMs: 2_000, enabled: true }),
    });
    expect(res.status).toBe(200);
    const put = (await res.json()) as Record<string, unknown>;
    expect(put['enabled']).toBe(true);
    expect(put['disabled']).toBeUndefined();
    await waitUntil('the 6 kept events delivered', () => distinctEvents(rx) === 6, 20_000);
    expect([...new Set(rx.requests.map((r) => r.headers['x-wss-event-id']))].sort()).toEqual([...events].sort());
  }, 90_000);
});
