// End to end on a real 3-master Redis Cluster with WSS_SHARDS=3, every role a real `wss`
// process: `wss seed` and `wss publish` through a seed node that does not own the stream (a plain
// client died there with MOVED), signed delivery to a real receiver, a retry, a dead letter,
// the queues' keys spread over the masters, a dashboard retry, and a worker killed with -9
// whose deliveries another worker finishes.
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publishEvent } from '../src/queue/publish.js';
import { clusterEnv, queueOf } from './helpers/cluster-service.js';
import { startReceiver, type Received, type Receiver } from './helpers/receiver.js';
import { useTestCluster } from './helpers/redis-cluster.js';
import { runWss, spawnWss, type WssProcess } from './helpers/wss-process.js';

const cluster = useTestCluster({ masters: 3 });
const dir = mkdtempSync(join(tmpdir(), 'wss-cluster-e2e-'));
const children: WssProcess[] = [];
const receivers: Receiver[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) await c.kill('SIGKILL');
  for (const r of receivers.splice(0)) await r.close();
});

const SECRET = 'cluster-e2e-secret-0123456789';
const DASHBOARD_PASSWORD = 'cluster-dashboard-pw-0123';

function expectSigned(req: Received): void {
  const ts = String(req.headers['x-wss-timestamp']);
  expect(ts).toMatch(/^\d+$/);
  expect(req.headers['x-wss-signature']).toBe(
    createHmac('sha256', SECRET)
      .update(ts + req.body)
      .digest('hex'),
  );
}

function tenantsFile(name: string, endpoints: unknown[]): string {
  const p = join(dir, `${name}.json`);
  writeFileSync(p, JSON.stringify({ tenants: [{ id: 'acme', endpoints }] }));
  return p;
}

async function start(env: Record<string, string>, roles: string[]): Promise<WssProcess> {
  const p = spawnWss(['start', ...roles.flatMap((r) => ['--role', r])], env);
  children.push(p);
  await p.waitForOutput(/webhook-sender started/, 30_000);
  return p;
}

async function receiver(handler?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(handler);
  receivers.push(r);
  return r;
}

async function eventually(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the service on a Redis Cluster', () => {
  it('seeds and publishes through a non-owning node; delivers signed, retries, dead-letters', async () => {
    const c = cluster();
    const name = 'e2e';
    const env = clusterEnv(c, name);
    const streamOwner = await c.ownerOf(env['WSS_STREAM']!);
    const other = c.nodes.find((n) => n.port !== streamOwner.port)!;
    // The CLI knows only a node that does not own the stream (a plain client died there with MOVED).
    const cliEnv = clusterEnv(c, name, { LOG_LEVEL: 'warn' }, [other.port]);

    let flaky = 0;
    const rx = await receiver((req) => (req.path === '/flaky' && flaky++ === 0 ? { status: 503 } : { status: 200 }));
    // Endpoints in each of the 3 shards: `ok` and `flaky` share one, `audit` and `c` have theirs.
    const ids = ['ok', 'flaky', 'audit', 'c'];
    expect(new Set(ids.map((e) => queueOf('acme', e))).size).toBe(3);
    const file = tenantsFile(
      name,
      ids.map((id) => ({ id, url: `${rx.url}/${id}`, secret: SECRET, retry: { attempts: 3, backoffMs: 100 } })),
    );
    const seeded = runWss(['seed', file], cliEnv);
    expect(seeded.stderr).toBe('');
    expect(seeded.stdout).toContain('seeded 1 tenant(s), 4 endpoint(s)');

    // The bridge takes smaller events than `wss publish` does: a big one is dead-lettered.
    const service = await start({ ...env, WSS_MAX_EVENT_BYTES: '2048' }, ['bridge', 'worker']);
    const published = runWss(
      ['publish', '--tenant', 'acme', '--type', 'order.created', '--data', '{"n":1}', '--id', 'evt_1'],
      cliEnv,
    );
    expect(published.stderr).toBe('');
    expect(published.stdout).toMatch(/^\d+-\d+\n$/);
    const big = JSON.stringify({ pad: 'x'.repeat(4_000) });
    expect(
      runWss(['publish', '--tenant', 'acme', '--type', 'order.created', '--data', big, '--id', 'evt_big'], cliEnv)
        .status,
    ).toBe(0);

    await rx.waitFor(5, 30_000);
    const byPath = (p: string) => rx.requests.filter((r) => r.path === p);
    for (const p of ['/ok', '/audit', '/c']) expect(byPath(p)).toHaveLength(1);
    expect(byPath('/flaky').map((r) => r.headers['x-wss-attempt'])).toEqual(['1', '2']);
    for (const req of rx.requests) {
      expectSigned(req);
      expect(req.headers['x-wss-event-id']).toBe('evt_1');
      expect(JSON.parse(req.body)).toMatchObject({ id: 'evt_1', tenant: 'acme', data: { n: 1 } });
    }

    const client = c.client();
    const dead = env['WSS_STREAM']! + ':dead';
    await eventually('the dead letter', async () => (await client.xlen(dead)) === 1);
    const [[, flat]] = (await client.xrange(dead, '-', '+')) as [[string, string[]]];
    const fields = Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : [])));
    expect(fields).toMatchObject({ tenant: 'acme', id: 'evt_big', dataBytes: '4010' });
    expect(fields['reason']).toContain('WSS_MAX_EVENT_BYTES');
    await eventually(
      'every entry acknowledged',
      async () => Number(((await client.xpending(env['WSS_STREAM']!, env['WSS_GROUP']!)) as [number])[0]) === 0,
    );
    expect(rx.requests).toHaveLength(5);

    // The jobs' keys are spread: each shard's queue lives on the master owning its hash tag.
    const holding = new Set<number>();
    for (const m of (await c.topology()).filter((n) => n.role === 'master')) {
      const [, keys] = (await c.nodeClient(m.port).scan('0', 'MATCH', `${name}:deliveries-*`, 'COUNT', 10_000)) as [
        string,
        string[],
      ];
      if (keys.length > 0) holding.add(m.port);
    }
    const owners = await Promise.all(ids.map(async (e) => (await c.ownerOf(queueOf('acme', e))).port));
    expect(holding).toEqual(new Set(owners));
    expect(holding.size).toBeGreaterThanOrEqual(2);
    // CLIENT LIST reached every master: a dead bridge's entries are claimed at once.
    expect(service.output()).not.toContain('CLIENT LIST or CLIENT SETNAME refused');
  }, 90_000);

  it('a worker killed with -9 mid-delivery: another worker delivers every event', async () => {
    const c = cluster();
    const name = 'crash';
    // Locks lapse after 1 s and stalls are looked for every 0.5 s, so recovery is quick.
    const env = clusterEnv(c, name, { WSS_STALLED_INTERVAL_MS: '500', WSS_LOCK_DURATION_MS: '1000' });
    let slow = true;
    const rx = await receiver(() => (slow ? { status: 200, delayMs: 20_000 } : { status: 200 }));
    expect(
      runWss(['seed', tenantsFile(name, [{ id: 'ok', url: `${rx.url}/ok`, secret: SECRET, timeoutMs: 30_000 }])], env)
        .status,
    ).toBe(0);

    await start(env, ['bridge']);
    const doomed = await start(env, ['worker']);
    const client = c.client();
    const ids = Array.from({ length: 10 }, (_, i) => `evt_${i}`);
    for (const id of ids)
      await publishEvent(client, env['WSS_STREAM']!, { tenant: 'acme', type: 't', data: { id }, id });
    await rx.waitFor(ids.length, 30_000);
    await doomed.kill('SIGKILL');

    slow = false;
    await start(env, ['worker']);
    await eventually('every event redelivered', async () => rx.requests.length >= 2 * ids.length, 30_000);
    const after = rx.requests.slice(ids.length);
    expect(new Set(after.map((r) => r.headers['x-wss-event-id']))).toEqual(new Set(ids));
    for (const r of after) {
      expect(r.headers['x-wss-redelivery']).toBe('true');
      expectSigned(r);
    }
  }, 90_000);

  it('the dashboard lists the queue and retries a failed delivery', async () => {
    const c = cluster();
    const name = 'dash';
    const env = clusterEnv(c, name, { PORT: '0', WSS_DASHBOARD_PASSWORD: DASHBOARD_PASSWORD });
    let up = false;
    const rx = await receiver(() => ({ status: up ? 200 : 500 }));
    const ep = { id: 'ep', url: `${rx.url}/ep`, secret: SECRET, retry: { attempts: 1, backoffMs: 10 } };
    expect(runWss(['seed', tenantsFile(name, [ep])], env).status).toBe(0);
    const service = await start(env, ['bridge', 'worker', 'dashboard']);
    const board = /"url":"(http:[^"]+)"[^\n]*"dashboard listening"/.exec(service.output())?.[1];
    expect(board).toBeDefined();
    const base = new URL(board!).origin;
    const auth = { authorization: `Basic ${Buffer.from(`admin:${DASHBOARD_PASSWORD}`).toString('base64')}` };
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    await publishEvent(c.client(), env['WSS_STREAM']!, { tenant: 'acme', type: 't', data: {}, id: 'evt_d' });
    await rx.waitFor(1);
    const queues = `${base}/admin/queues/api/queues`;
    const QUEUE_NAME = queueOf('acme', 'ep');
    const failedJob = async () => {
      const list = (await (
        await fetch(`${queues}?activeQueue=${QUEUE_NAME}&status=failed`, { headers: auth })
      ).json()) as {
        queues: Array<{ name: string; jobs: Array<{ id: string }> }>;
      };
      return list.queues.find((q) => q.name === QUEUE_NAME)?.jobs[0]?.id;
    };
    await eventually('the failed job listed by the dashboard', async () => (await failedJob()) !== undefined);
    const id = (await failedJob())!;
    expect(id).toBe('acme.ep.evt_d');

    up = true;
    const retried = await fetch(`${queues}/${QUEUE_NAME}/${encodeURIComponent(id)}/retry`, {
      method: 'PUT',
      headers: auth,
    });
    expect(retried.status).toBe(204);
    await rx.waitFor(2);
    expect(rx.requests.map((r) => r.headers['x-wss-event-id'])).toEqual(['evt_d', 'evt_d']);
    expectSigned(rx.requests[1]!);
  }, 90_000);

  it('one worker on every shard delivers a burst whose jobs fill the 3 masters at once', async () => {
    // 50 jobs in flight over three shards' queues on three nodes: a worker whose shared
    // concurrency deadlocked across shards stalled here after its first few jobs.
    const c = cluster();
    const name = 'burst';
    const env = clusterEnv(c, name, { WSS_CONCURRENCY: '50' });
    const rx = await receiver();
    const ids = ['ok', 'audit', 'c', 'flaky', 'b', 'a'];
    expect(new Set(ids.map((e) => queueOf('acme', e))).size).toBe(3);
    expect(
      runWss(
        [
          'seed',
          tenantsFile(
            name,
            ids.map((id) => ({ id, url: `${rx.url}/${id}`, secret: SECRET })),
          ),
        ],
        env,
      ).status,
    ).toBe(0);
    await start(env, ['bridge', 'worker']);
    const client = c.client();
    const events = 50;
    for (let i = 0; i < events; i++)
      await publishEvent(client, env['WSS_STREAM']!, { tenant: 'acme', type: 't', data: { i }, id: `b${i}` });
    await rx.waitFor(events * ids.length, 30_000);
    const got = new Set(rx.requests.map((r) => `${r.path}|${String(r.headers['x-wss-event-id'])}`));
    expect(got.size).toBe(events * ids.length);
  }, 90_000);
});
