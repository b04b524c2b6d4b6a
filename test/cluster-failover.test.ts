// Failover on a real Redis Cluster with one replica per master (WSS_SHARDS=3, one endpoint per
// shard): the master holding one endpoint's queue is killed with -9 while 2,000 events go
// through a bridge and two workers (`wss start` processes). Its replica takes over; every
// process stays up, follows the new topology and is ready again; deliveries resume. The receiver's count of distinct events gives the losses,
// printed; with WSS_WAIT_REPLICAS=1 the documented guarantee allows none (docs/cluster.md).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publishEvent } from '../src/queue/publish.js';
import { clusterEnv, queueOf, splitName } from './helpers/cluster-service.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startCluster } from './helpers/redis-cluster.js';
import { runWss, spawnWss, type WssProcess } from './helpers/wss-process.js';

const EVENTS = 2_000;
const ENDPOINTS = ['ok', 'audit', 'c'];
const children: WssProcess[] = [];
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of children.splice(0)) await c.kill('SIGKILL');
  for (const close of closers.splice(0).reverse()) await close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(env: Record<string, string>, role: string): Promise<{ p: WssProcess; health: string }> {
  const p = spawnWss(['start', '--role', role], env);
  children.push(p);
  const out = await p.waitForOutput(/health server listening/, 30_000);
  const health = /"url":"(http:\/\/[^"]+)"[^\n]*health server listening/.exec(out)![1]!;
  await p.waitForOutput(/webhook-sender started/, 30_000);
  return { p, health };
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
  } catch {
    return false;
  }
}

interface Outcome {
  published: number;
  delivered: number;
  lost: string[];
  duplicates: number;
  roles: Array<{ role: string; alive: boolean; ready: boolean; output: string }>;
}

async function failover(waitReplicas: number): Promise<Outcome> {
  const c = await startCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1_000 });
  closers.push(() => c.close());
  const rx: Receiver = await startReceiver();
  closers.push(() => rx.close());
  const name = await splitName(c, `fo${waitReplicas}x`, queueOf('acme', 'ok'));
  const env = clusterEnv(c, name, {
    WSS_WAIT_REPLICAS: String(waitReplicas),
    WSS_WAIT_TIMEOUT_MS: '2000',
    WSS_STALLED_INTERVAL_MS: '1000',
    WSS_LOCK_DURATION_MS: '5000',
    WSS_CONCURRENCY: '20',
    WSS_ENDPOINT_CONCURRENCY: '20',
  });
  const file = join(mkdtempSync(join(tmpdir(), 'wss-failover-')), 'tenants.json');
  // One endpoint per shard (so every master holds a queue with work); event type t<k> goes to
  // endpoint k only, so each event is one delivery.
  const endpoints = ENDPOINTS.map((id, k) => ({
    id,
    url: `${rx.url}/${id}`,
    secret: 'failover-secret-0123456789',
    events: [`t${k}`],
    retry: { attempts: 20, backoffMs: 200 },
  }));
  expect(new Set(ENDPOINTS.map((e) => queueOf('acme', e))).size).toBe(3);
  writeFileSync(file, JSON.stringify({ tenants: [{ id: 'acme', endpoints }] }));
  expect(runWss(['seed', file], env).status).toBe(0);

  const roles = [
    { role: 'bridge', ...(await start(env, 'bridge')) },
    { role: 'worker', ...(await start(env, 'worker')) },
    { role: 'worker', ...(await start(env, 'worker')) },
  ];

  // The master of endpoint `ok`'s queue (one of three busy ones); the stream lives on another.
  const victim = await c.ownerOf(queueOf('acme', 'ok'));
  const client = c.client();
  const published: string[] = [];
  // A steady 2,000 events over about 4 s; an XADD the cluster refuses is not counted as published.
  const publishing = (async () => {
    for (let i = 0; i < EVENTS; i++) {
      const id = `ev-${i}`;
      try {
        await publishEvent(client, env['WSS_STREAM']!, { tenant: 'acme', type: `t${i % 3}`, data: { i }, id });
        published.push(id);
      } catch {
        // the stream's master is not the victim, but count only what was accepted
      }
      if (i % 50 === 49) await sleep(100);
    }
  })();
  await rx.waitFor(400, 30_000);
  await c.kill(victim.port);
  // Its replica is elected and every live node agrees on 3 masters again.
  await c.waitUntil(
    (t) =>
      t.some((n) => n.port === victim.port && !n.alive) && t.filter((n) => n.role === 'master' && n.alive).length === 3,
    30_000,
  );
  await publishing;

  const seen = () => new Set(rx.requests.map((r) => String(r.headers['x-wss-event-id'])));
  const deadline = Date.now() + 60_000;
  while (seen().size < published.length && Date.now() < deadline) await sleep(200);
  // Whatever was going to be redelivered (a stalled job, a re-read batch) has had time to arrive.
  await sleep(1_000);
  const got = seen();
  const readiness = await Promise.all(
    roles.map(async (r) => {
      const until = Date.now() + 20_000;
      while (!(await ready(r.health)) && Date.now() < until) await sleep(200);
      return ready(r.health);
    }),
  );
  const outcome: Outcome = {
    published: published.length,
    delivered: got.size,
    lost: published.filter((id) => !got.has(id)),
    duplicates: rx.requests.length - got.size,
    roles: roles.map((r, i) => ({
      role: r.role,
      alive: r.p.proc.exitCode === null && r.p.proc.signalCode === null,
      ready: readiness[i]!,
      output: r.p.output(),
    })),
  };
  console.log(
    `failover (WSS_WAIT_REPLICAS=${waitReplicas}): published ${outcome.published}, delivered ${outcome.delivered}, ` +
      `lost ${outcome.lost.length}${outcome.lost.length ? ` (${outcome.lost.slice(0, 10).join(', ')})` : ''}, ` +
      `duplicate requests ${outcome.duplicates}`,
  );
  return outcome;
}

function expectRodeThrough(o: Outcome): void {
  for (const r of o.roles) {
    expect({ role: r.role, alive: r.alive, ready: r.ready }).toEqual({ role: r.role, alive: true, ready: true });
    expect(r.output).not.toMatch(/"level":60|Unhandled|uncaught/i);
  }
  expect(o.published).toBe(EVENTS);
}

describe('a master killed with -9 mid-load', () => {
  it('WSS_WAIT_REPLICAS=1: its replica takes over, every role rides through, no event is lost', async () => {
    const o = await failover(1);
    expectRodeThrough(o);
    expect(o.lost).toEqual([]);
  }, 150_000);

  it('without WAIT: roles ride through and deliveries resume; losses are counted and printed', async () => {
    const o = await failover(0);
    expectRodeThrough(o);
    // Asynchronous replication may lose the jobs of batches acknowledged just before the kill
    // (docs/cluster.md): at most the last few batches, never the deliveries after the failover.
    expect(o.delivered).toBeGreaterThan(EVENTS - 2 * 500);
  }, 150_000);
});
