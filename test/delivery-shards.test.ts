// Recover and replay with WSS_SHARDS=3: each works on the queue of its endpoint's shard (failed
// set, fair-share keys, addBulk), also on a Redis in cluster mode, which refuses any script or
// MULTI whose keys span two slots.
import { describe, expect, it } from 'vitest';
import { shardOf } from '../src/redis/shards.js';
import { basic } from './helpers/dashboard-context.js';
import { endpoint, isolatedEnv, useBridgeTest, waitUntil } from './helpers/bridge-context.js';
import { startReceiver, type Received } from './helpers/receiver.js';
import { singleNodeCluster } from './helpers/redis-cluster.js';
import { startAllRoles } from './helpers/roles.js';

const { cleanups, context, ownRedis } = useBridgeTest();
const PASSWORD = 'shards-replay-password-123';
const IDS = ['orders', 'billing', 'ship', 'audit'];

async function scenario(redisUrl?: string, env: Record<string, string> = {}): Promise<void> {
  // The endpoints span more than one shard (sha1 of "acme/<id>": a fact about these ids).
  expect(new Set(IDS.map((id) => shardOf('acme', id, 3))).size).toBeGreaterThanOrEqual(2);
  let fixed = false;
  const rx = await startReceiver(() => ({ status: fixed ? 200 : 422 }));
  cleanups.push(() => rx.close());
  const t = await context(
    isolatedEnv({ WSS_SHARDS: '3', WSS_DASHBOARD_PASSWORD: PASSWORD, PORT: '0', ...env }),
    {
      tenants: [
        {
          id: 'acme',
          endpoints: IDS.map((id) => endpoint(id, { url: `${rx.url}/${id}`, retry: { attempts: 2, backoffMs: 50 } })),
        },
      ],
    },
    redisUrl,
  );
  const dash = await startAllRoles(t, cleanups, { logCredentials: false });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(dash.url + path, {
      method: 'POST',
      headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  const from = new Date(Date.now() - 1).toISOString();
  for (const n of [1, 2])
    await t.ctx.redis.xadd(t.config.stream, '*', 'tenant', 'acme', 'type', 'x', 'id', `e${n}`, 'data', '{}');
  await rx.waitFor(IDS.length * 2);
  for (const id of IDS)
    await waitUntil(
      `${id} failed`,
      async () =>
        (await t.queues.forEndpoint('acme', id).queue.getFailed()).filter((j) => j.data.endpoint === id).length === 2,
    );

  fixed = true;
  for (const id of IDS) {
    const r = await post(`/api/tenants/acme/endpoints/${id}/recover`, { since: '1h' });
    expect(r.json, id).toMatchObject({ failed: 2, recovered: 2 });
  }
  await rx.waitFor(IDS.length * 4);
  const key = (r: Received) => `${r.path}:${String(r.headers['x-wss-event-id'])}`;
  expect(
    rx.requests
      .slice(IDS.length * 2)
      .map(key)
      .sort(),
  ).toEqual(IDS.flatMap((id) => [`/${id}:e1`, `/${id}:e2`]).sort());

  const replay = await post('/api/replay', { tenant: 'acme', from, to: 'now' });
  expect(replay.json).toMatchObject({ events: 2, deliveries: IDS.length * 2 });
  await rx.waitFor(IDS.length * 6);
  const replayed = rx.requests.slice(IDS.length * 4);
  expect(replayed.every((r) => r.headers['x-wss-replay'] === 'true')).toBe(true);
  expect(replayed.map(key).sort()).toEqual(IDS.flatMap((id) => [`/${id}:e1`, `/${id}:e2`]).sort());
  // Each replayed job sits in its endpoint's shard queue, and in no other.
  for (const id of IDS) {
    const own = t.queues.forEndpoint('acme', id);
    for (const ref of t.queues.current) {
      const job = await ref.queue.getJob(`acme.${id}.e1.r${String(replay.json.replayId)}`);
      expect(job === undefined ? 'absent' : 'present', `${id} in ${ref.name}`).toBe(
        ref.name === own.name ? 'present' : 'absent',
      );
    }
  }
}

describe('recover and replay with WSS_SHARDS=3', () => {
  it('on one Redis', async () => {
    await scenario();
  });
  it('on a Redis in cluster mode (every script in one slot)', async () => {
    const r = await singleNodeCluster(ownRedis);
    await scenario(r.url, { REDIS_CLUSTER_NODES: r.url });
  });
});
