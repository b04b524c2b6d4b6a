// WSS_SHARDS=3 on one private redis-server (tagged queue names, as on a cluster): publish → bridge
// → the endpoint's shard → worker → a real receiver, signed; retries, dead letters, and a
// dashboard retry of a failed job in its shard's queue. Keys are checked to spread over shards.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { publishEvent } from '../src/queue/publish.js';
import { shardOf, shardQueueName } from '../src/redis/shards.js';
import { basic } from './helpers/dashboard-context.js';
import { endpoint, isolatedEnv, waitUntil, useBridgeTest, deadLetters } from './helpers/bridge-context.js';
import { startReceiver, type Received } from './helpers/receiver.js';
import { singleNodeCluster } from './helpers/redis-cluster.js';
import { startAllRoles } from './helpers/roles.js';

const { cleanups, context, ownRedis } = useBridgeTest();
const PASSWORD = 'shards-e2e-password-123';

function opensslHmac(secret: string, message: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret], { input: message }).toString();
  return out.trim().split('= ').pop()!;
}

function expectSigned(req: Received, secret: string): void {
  const ts = String(req.headers['x-wss-timestamp']);
  expect(req.headers['x-wss-signature']).toBe(opensslHmac(secret, ts + req.body));
}

const secretOf = (id: string) => `secret-${id}-0123456789`;
/** The distinct hash tags among `keys`. */
const tagsOf = (keys: string[]) => new Set(keys.map((k) => /\{[^}]+\}/.exec(k)?.[0]).filter((t) => t !== undefined));

describe('sharded delivery queues (WSS_SHARDS=3)', () => {
  it('delivers, retries, dead-letters and retries from the dashboard, each endpoint in its own shard', async () => {
    await scenario();
  });

  it('keeps every MULTI and script in one slot: the same run on a Redis in cluster mode', async () => {
    const r = await singleNodeCluster(ownRedis);
    await scenario(r.url, { REDIS_CLUSTER_NODES: r.url });
  });
});

async function scenario(redisUrl?: string, env: Record<string, string> = {}): Promise<void> {
  {
    let flaky = 0;
    let dashboardRetry = false;
    const rx = await startReceiver((req) => {
      if (req.path === '/flaky') return { status: ++flaky < 2 ? 500 : 200 };
      if (req.path === '/broken') return { status: dashboardRetry ? 200 : 400 };
      // Slow enough that slot leases of endpoints in different shards are renewed together.
      return { status: 200, delayMs: 500 };
    });
    cleanups.push(() => rx.close());
    const ids = ['orders', 'billing', 'ship', 'audit', 'flaky', 'broken'];
    const layout = { count: 3, cluster: env['REDIS_CLUSTER_NODES'] !== undefined };
    // The endpoints span at least two shards (sha1 of "acme/<id>": fixed, so this is a fact about the ids).
    expect(new Set(ids.map((id) => shardOf('acme', id, 3))).size).toBeGreaterThanOrEqual(2);

    const t = await context(
      isolatedEnv({
        WSS_SHARDS: '3',
        WSS_DASHBOARD_PASSWORD: PASSWORD,
        PORT: '0',
        WSS_ENDPOINT_LEASE_MS: '1000',
        ...env,
      }),
      {
        tenants: [
          {
            id: 'acme',
            endpoints: ids.map((id) =>
              endpoint(id, {
                url: `${rx.url}/${id}`,
                retry: { attempts: id === 'broken' ? 1 : 3, backoffMs: 50 },
                // The fleet-wide limits' scripts run too (flaky's 500 also goes through the circuit's).
                maxInFlight: 2,
                ...(id === 'flaky' ? { rateLimit: { max: 100, perMs: 60_000 } } : {}),
              }),
            ),
          },
        ],
      },
      redisUrl,
    );
    const dash = await startAllRoles(t, cleanups, { logCredentials: false });

    await publishEvent(
      t.ctx.redis,
      t.config.stream,
      { tenant: 'acme', type: 'order.created', data: { n: 1 }, id: 'e1' },
      1e6,
    );
    await publishEvent(t.ctx.redis, t.config.stream, { tenant: 'nobody', type: 'x', data: {}, id: 'e2' }, 1e6);
    // Every endpoint but `broken` gets it (flaky twice: a 500, then a 200 on the retry).
    await rx.waitFor(ids.length + 1);
    for (const r of rx.requests) expectSigned(r, secretOf(r.path.slice(1)));
    expect(rx.requests.filter((r) => r.path === '/flaky').map((r) => r.headers['x-wss-attempt'] ?? '')).toHaveLength(2);

    // Each job is in its endpoint's shard queue, and nowhere else.
    for (const id of ids) {
      const k = shardOf('acme', id, 3);
      expect(t.queues.forEndpoint('acme', id).name).toBe(shardQueueName(layout, k));
      for (const ref of t.queues.current) {
        const job = await ref.queue.getJob(`acme.${id}.e1`);
        expect(job === undefined ? 'absent' : 'present').toBe(ref.shard === k ? 'present' : 'absent');
      }
    }
    const broken = t.queues.forEndpoint('acme', 'broken');
    await waitUntil(
      'broken failed',
      async () => (await broken.queue.getJob('acme.broken.e1'))?.failedReason !== undefined,
    );
    expect(await (await broken.queue.getJob('acme.broken.e1'))!.getState()).toBe('failed');
    // The unknown tenant's event is a dead letter, as with one queue.
    await waitUntil('dead letter', async () => (await deadLetters(t)).length === 1);
    expect((await deadLetters(t))[0]!.fields['reason']).toContain('unknown tenant');

    // The dashboard lists every shard's queue and retries the failed job in its own one.
    const auth = { authorization: basic('admin', PASSWORD) };
    const listed = (await (await fetch(`${dash.url}/admin/queues/api/queues`, { headers: auth })).json()) as {
      queues: Array<{ name: string }>;
    };
    expect(listed.queues.map((q) => q.name).sort()).toEqual(t.queues.current.map((r) => r.name).sort());
    dashboardRetry = true;
    const retry = await fetch(
      `${dash.url}/admin/queues/api/queues/${encodeURIComponent(broken.name)}/acme.broken.e1/retry`,
      { method: 'PUT', headers: auth },
    );
    expect(retry.status).toBe(204);
    await rx.waitFor(ids.length + 2);
    expect(rx.requests.at(-1)!.path).toBe('/broken');
    await waitUntil('retried job completed', async () => (await broken.queue.getJob('acme.broken.e1'))!.isCompleted());

    // The admin API's test event goes to the endpoint's shard and is delivered.
    const test = await fetch(`${dash.url}/api/tenants/acme/endpoints/audit/test`, { method: 'POST', headers: auth });
    expect(test.status).toBe(202);
    const { jobId } = (await test.json()) as { jobId: string };
    const audit = t.queues.forEndpoint('acme', 'audit');
    await waitUntil('test event delivered', async () => (await audit.queue.getJob(jobId))?.finishedOn !== undefined);
    expect(rx.requests.at(-1)!.path).toBe('/audit');
    // Endpoint health reads the limits in the endpoint's shard.
    const health = (await (
      await fetch(`${dash.url}/api/tenants/acme/endpoints/flaky/health`, { headers: auth })
    ).json()) as { limits: { inFlight: number; tokensLeft: number } };
    expect(health.limits.inFlight).toBe(0);
    expect(health.limits.tokensLeft).toBeLessThan(100);
    // The metrics sum over the shards.
    let completed = 0;
    for (const ref of t.queues.current) completed += await ref.queue.getCompletedCount();
    expect(completed).toBe(ids.length + 1);
    const metrics = await (await fetch(`${dash.url}/metrics`)).text();
    expect(metrics).toContain(`wss_queue_jobs{state="completed"} ${completed}`);

    // Job keys (and the fair-share state) spread over at least two shard tags; none untagged.
    const keys = await t.ctx.redis.keys(`${t.config.prefix}:*`);
    const jobKeys = keys.filter((k) => k.includes(':deliveries'));
    expect(tagsOf(jobKeys).size).toBeGreaterThanOrEqual(2);
    expect(jobKeys.filter((k) => !/\{[^}]+\}/.test(k))).toEqual([]);
    expect(tagsOf(keys.filter((k) => k.includes(':fair:'))).size).toBeGreaterThanOrEqual(2);
    expect(keys.filter((k) => k.startsWith(`${t.config.prefix}:fair:`))).toEqual([]);
    // Per-endpoint keys (limits, circuit) carry the endpoint's shard tag.
    const flakyTag = /\{[^}]+\}/.exec(t.queues.forEndpoint('acme', 'flaky').name)![0];
    const perEndpoint = keys.filter((k) => k.includes(':limits:') || k.includes(':circuit'));
    expect(perEndpoint.filter((k) => k.includes('flaky')).length).toBeGreaterThan(0);
    for (const k of perEndpoint.filter((x) => x.includes('flaky'))) expect(k).toContain(flakyTag);
    expect(t.logs.join('\n')).not.toMatch(/CROSSSLOT|same slot|non local key/i);
  }
}
