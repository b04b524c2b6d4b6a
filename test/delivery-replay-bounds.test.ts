// Replay amplification bounded (issue 18): WSS_REPLAY_MAX_DELIVERIES caps the deliveries one
// replay may queue (events × endpoints, not just events), and WSS_REPLAY_MAX_IN_FLIGHT the
// replays of a tenant whose deliveries have not all settled. Over either, nothing is queued:
// a 400 naming the range, a 429 naming the replays in flight (the CLI exits 1 saying so). A
// replay stops counting once its deliveries settle. Real Redis, dashboard, worker, receiver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { DeliveryQueues } from '../src/queue/delivery-queues.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { waitUntil } from './helpers/context.js';
import { basic, orderEndpoint, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { useTestRedis } from './helpers/redis-server.js';
import { runWss } from './helpers/wss-process.js';

const { redis } = useTestRedis();
const PASSWORD = 'replay-bounds-password';
let t: TestContext;
let dash: RunningDashboard;
let rx: Receiver;
let worker: RunningRole | undefined;
let from: string;

// `connection: close`: runWss (spawnSync) blocks this process, which also runs the dashboard; a
// pooled keep-alive socket could then be closed by the server's overdue idle timer as it is reused.
async function replay(body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${dash.url}/api/replay`, {
    method: 'POST',
    headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ tenant: 'acme', from, to: 'now', ...body }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

let queues: DeliveryQueues;
/** Jobs not yet completed or failed, in every shard's queue. */
const jobCount = async () => {
  let n = 0;
  for (const { queue } of queues.current)
    n += Object.entries(await queue.getJobCounts())
      .filter(([state]) => state !== 'completed' && state !== 'failed')
      .reduce((a, [, c]) => a + c, 0);
  return n;
};

beforeAll(async () => {
  rx = await startReceiver(() => ({ status: 204 }));
  t = await startTestContext(
    {
      WSS_DASHBOARD_PASSWORD: PASSWORD,
      WSS_REPLAY_MAX_DELIVERIES: '15',
      WSS_REPLAY_MAX_IN_FLIGHT: '1',
      WSS_KEEP_COMPLETED_COUNT: '0',
    },
    redis(),
  );
  for (const id of ['orders', 'audit'])
    await t.registry.putEndpoint('acme', orderEndpoint(id, `${rx.url}/${id}`, `secret-${id}-0123456789`));
  dash = await startDashboard(t.ctx);
  queues = new DeliveryQueues(t.ctx.redis, t.config.prefix, t.config.layout);
  from = new Date(Date.now() - 1).toISOString();
  // Ten events in the stream (no bridge: only the replays send them).
  for (let i = 0; i < 10; i++)
    await t.ctx.redis.xadd(t.config.stream, '*', 'tenant', 'acme', 'type', 'order.paid', 'id', `e${i}`, 'data', '{}');
});

afterAll(async () => {
  await dash?.stop();
  await worker?.stop();
  await queues?.close();
  await rx?.close();
  await t?.close();
});

describe('replay bounds', () => {
  it('refuses a replay that would queue more deliveries than WSS_REPLAY_MAX_DELIVERIES, queuing nothing', async () => {
    const all = await replay({});
    expect(all.status).toBe(400);
    expect(all.json.error).toMatch(
      /^field "from": the range .* would queue 20 deliveries of tenant "acme", more than WSS_REPLAY_MAX_DELIVERIES \(15\); narrow "from" and "to", or name one endpoint$/,
    );
    const dry = await replay({ dryRun: true });
    expect(dry.status).toBe(400);
    expect(await jobCount()).toBe(0);
  });

  it('refuses a second replay while the first is in flight (429, CLI exit 1); once it settled, the next goes', async () => {
    const first = await replay({ endpoint: 'orders' });
    expect(first.status).toBe(202);
    expect(first.json.deliveries).toBe(10);
    const firstId = String(first.json.replayId);

    const second = await replay({ endpoint: 'audit' });
    expect(second.status).toBe(429);
    expect(second.json.error).toMatch(
      new RegExp(
        `^tenant "acme" has 1 replay\\(s\\) in flight, the most WSS_REPLAY_MAX_IN_FLIGHT \\(1\\) allows: ${firstId} \\(10 deliveries, started `,
      ),
    );
    const cli = runWss(['replay', '--tenant', 'acme', '--endpoint', 'audit', '--from', from], {
      REDIS_URL: t.redis.url,
      WSS_PREFIX: t.config.prefix,
      WSS_STREAM: t.config.stream,
      WSS_REPLAY_MAX_IN_FLIGHT: '1',
    });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain(`tenant "acme" has 1 replay(s) in flight`);
    // A dry run queues nothing: it is answered.
    expect((await replay({ endpoint: 'audit', dryRun: true })).status).toBe(200);
    expect(await jobCount()).toBe(10);

    // The first replay's deliveries settle; it no longer counts.
    worker = await startWorker(t.ctx);
    await waitUntil('first replay delivered', () => rx.requests.length >= 10, 20_000);
    await waitUntil('jobs settled', async () => (await jobCount()) === 0, 20_000);
    const third = await replay({ endpoint: 'audit' });
    expect(third.status).toBe(202);
    await waitUntil('third replay delivered', () => rx.requests.filter((r) => r.path === '/audit').length === 10);
  });
});
