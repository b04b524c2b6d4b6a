// WSS_SOURCE=nats when things die: a bridge killed with SIGKILL mid-batch (jobs added, not yet
// acknowledged), a message every bridge dies on (poison after WSS_MAX_ENTRY_DELIVERIES, counted
// by JetStream's num_delivered), and the NATS server gone for 10 s (stopped, then started again
// on the same port and store): nothing lost, no job twice, /readyz false then true. Real
// processes (dist/: `npm run build` first), a private nats-server, real receivers.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
import { createPublisher } from '../src/producers/sources/index.js';
import { publishTo } from '../src/queue/publish.js';
import { startWorker } from '../src/workers/worker.js';
import { allJobIds, deadLetters, endpoint, useBridgeTest, waitUntil, type TestCtx } from './helpers/bridge-context.js';
import { consumerInfo, natsClient, natsEnv, streamInfo, useNats } from './helpers/nats.js';
import { startReceiver } from './helpers/receiver.js';
import { childEnv, runWss, spawnWss, type WssProcess } from './helpers/wss-process.js';

const nats = useNats();
const { redis, cleanups, context } = useBridgeTest();
const CRASHING_BRIDGE = fileURLToPath(new URL('./fixtures/crashing-bridge.mjs', import.meta.url));
let nc: NatsConnection | undefined;
afterEach(async () => {
  await nc?.close().catch(() => undefined);
  nc = undefined;
});

async function client(): Promise<NatsConnection> {
  nc ??= await natsClient(nats());
  return nc;
}

const tenants = (url = 'http://127.0.0.1:9') => ({
  tenants: [{ id: 'acme', endpoints: [endpoint('a', { url: `${url}/a` }), endpoint('b', { url: `${url}/b` })] }],
});
const jobIdsFor = (ids: string[]) => ids.flatMap((id) => [`acme.a.${id}`, `acme.b.${id}`]).sort();

/** The env of a bridge child process: the test's Redis, its NATS stream, 1 s ack wait. */
function processEnv(): Record<string, string> {
  return { ...natsEnv(nats(), { WSS_NATS_ACK_WAIT_MS: '1000' }), REDIS_URL: redis().url, WSS_HEALTH_PORT: '0' };
}

async function publishAll(t: TestCtx, ids: string[]): Promise<void> {
  const publisher = createPublisher(t.config, t.ctx.redis, t.log);
  try {
    for (const id of ids) await publishTo(publisher, { tenant: 'acme', type: 'order.created', data: { id }, id });
  } finally {
    await publisher.close();
  }
}

async function drained(t: TestCtx): Promise<boolean> {
  const { stream, consumer } = t.config.source.nats;
  // Before the first bridge started there is no consumer yet.
  const c = await consumerInfo(await client(), stream, consumer).catch(() => undefined);
  if (!c) return false;
  return (
    c.num_pending === 0 && c.num_ack_pending === 0 && (await streamInfo(await client(), stream)).state.messages === 0
  );
}

function crashingBridge(
  env: Record<string, string>,
  extra: Record<string, string>,
): { child: ChildProcess; exited: Promise<NodeJS.Signals | null> } {
  const child = spawn(process.execPath, [CRASHING_BRIDGE], { env: childEnv({ ...env, ...extra }), stdio: 'ignore' });
  cleanups.push(async () => void child.kill('SIGKILL'));
  const exited = new Promise<NodeJS.Signals | null>((res) => child.once('exit', (_code, signal) => res(signal)));
  return { child, exited };
}

describe('NATS source: bridge killed with SIGKILL mid-batch', () => {
  it('after its jobs were added and before its ack: another bridge gets the batch again, adds nothing twice, each event is delivered once', async () => {
    const rx = await startReceiver();
    cleanups.push(() => rx.close());
    const env = processEnv();
    const t = await context(env, tenants(rx.url));
    const worker = await startWorker(t.ctx);
    cleanups.push(() => worker.stop());
    const ids = Array.from({ length: 50 }, (_, i) => `k${i}`);
    await publishAll(t, ids);

    const { exited } = crashingBridge(env, { CRASH_AFTER_ENQUEUE: '10' });
    expect(await exited).toBe('SIGKILL');
    // It died holding a batch: its jobs are in Redis, its messages unacknowledged.
    const { stream, consumer } = t.config.source.nats;
    const held = (await consumerInfo(await client(), stream, consumer)).num_ack_pending;
    expect(held).toBeGreaterThan(1);
    expect(await allJobIds(t)).toEqual(jobIdsFor(ids));

    const bridge = await startBridge(t.ctx);
    cleanups.push(() => bridge.stop());
    await waitUntil('the dead bridge batch acknowledged by the next one', () => drained(t), 15_000);
    expect(bridge.stats()).toMatchObject({ entries: held, claimed: held, deadLetters: 0 });
    expect(await allJobIds(t)).toEqual(jobIdsFor(ids));
    await rx.waitFor(ids.length * 2);
    await new Promise((r) => setTimeout(r, 500));
    const seen = rx.requests.map((r) => `acme.${r.path.slice(1)}.${String(r.headers['x-wss-event-id'])}`).sort();
    expect(seen).toEqual(jobIdsFor(ids));
  });
});

describe('NATS source: poison pill', () => {
  it('a message every bridge dies on is dead-lettered as poison after WSS_MAX_ENTRY_DELIVERIES (5); the others go through', async () => {
    const env = processEnv();
    const t = await context(env, tenants());
    const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
    await publishAll(t, ids);
    let deaths = 0;
    const done = async () => (await drained(t)) && (await deadLetters(t)).length > 0;
    while (!(await done())) {
      if (deaths > 8) throw new Error(`still dying after ${deaths} restarts`);
      const { exited } = crashingBridge(env, { CRASH_ON_EVENT: 'p4' });
      const outcome = await Promise.race([
        exited,
        waitUntil('poison handled', done, 30_000).then(() => 'done' as const),
      ]);
      if (outcome === 'done') break;
      expect(outcome).toBe('SIGKILL');
      deaths++;
    }
    expect(deaths).toBe(5);
    const dead = await deadLetters(t);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.fields).toMatchObject({ entryId: `${t.config.source.nats.stream}#5`, id: 'p4', tenant: 'acme' });
    expect(dead[0]!.fields['reason']).toMatch(/^poison: delivered 5 times without being acknowledged/);
    expect(await allJobIds(t)).toEqual(jobIdsFor(ids.filter((id) => id !== 'p4')));
  });
});

describe('NATS source: the server gone for 10 s', () => {
  it('a bridge process keeps running, /readyz 503 then 200, and every event before and after is delivered once (wss publish too)', async () => {
    const env = processEnv();
    const t = await context(env, tenants());
    const bridge: WssProcess = spawnWss(['start', '--role', 'bridge'], { ...env, LOG_LEVEL: 'info' });
    cleanups.push(async () => void (await bridge.kill('SIGKILL')));
    const healthUrl = /"url":"(http:[^"]+)","msg":"health server listening/.exec(
      await bridge.waitForOutput(/health server listening/),
    )![1]!;
    await waitUntil('/readyz 200', async () => (await fetch(`${healthUrl}/readyz`)).status === 200);
    const before = Array.from({ length: 20 }, (_, i) => `b${i}`);
    await publishAll(t, before);
    await waitUntil('before: all acknowledged', () => drained(t));

    await nc?.close();
    nc = undefined;
    const server = nats();
    await server.stop();
    const stoppedAt = Date.now();
    await waitUntil('/readyz 503', async () => (await fetch(`${healthUrl}/readyz`)).status === 503, 10_000);
    expect(await (await fetch(`${healthUrl}/readyz`)).text()).toContain(
      `nats: not connected to nats://127.0.0.1:${server.port} (reconnecting)`,
    );
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - stoppedAt))));
    expect(bridge.proc.exitCode).toBe(null);
    await server.start();
    await waitUntil('/readyz 200 again', async () => (await fetch(`${healthUrl}/readyz`)).status === 200, 20_000);

    const after = Array.from({ length: 20 }, (_, i) => `a${i}`);
    await publishAll(t, after);
    const cli = runWss(
      ['publish', '--tenant', 'acme', '--type', 'order.created', '--data', '{"via":"cli"}', '--id', 'cli-1'],
      env,
    );
    expect(cli.stderr).toBe('');
    expect(cli.stdout.trim()).toBe(`${t.config.source.nats.stream}#41`);
    // Replay reads the Redis Stream: refused, saying why, rather than replaying nothing.
    const replay = runWss(['replay', '--tenant', 'acme', '--from', '1h'], env);
    expect(replay.status).toBe(1);
    expect(replay.stderr).toMatch(/replay reads the Redis Stream or the PostgreSQL outbox; with WSS_SOURCE=nats/);
    await waitUntil('after: all acknowledged', () => drained(t), 15_000);
    expect(await allJobIds(t)).toEqual(jobIdsFor([...before, ...after, 'cli-1']));
    expect(bridge.output()).toMatch(/nats: disconnected; reconnecting/);
    expect(bridge.output()).toMatch(/nats: reconnected/);
  });

  it('a batch whose jobs are in Redis when the server goes away is acknowledged once it is back: no job twice', async () => {
    const env = natsEnv(nats(), { WSS_NATS_ACK_WAIT_MS: '30000' });
    const t = await context(env, tenants());
    const server = nats();
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let enqueued = 0;
    const bridge = await startBridge(t.ctx, {
      hooks: {
        afterEnqueue: async (info) => {
          if (enqueued++ === 0 && info.jobIds.length > 0) await held;
        },
      },
    });
    cleanups.push(() => bridge.stop());
    const ids = Array.from({ length: 30 }, (_, i) => `h${i}`);
    await publishAll(t, ids);
    await waitUntil('the first batch enqueued', () => enqueued > 0);
    await nc?.close();
    nc = undefined;
    await server.stop();
    release();
    await waitUntil('not ready', async () => !(await bridge.ready()).ok);
    await new Promise((r) => setTimeout(r, 10_000));
    await server.start();
    await waitUntil('ready again', async () => (await bridge.ready()).ok, 20_000);
    await waitUntil('all acknowledged', () => drained(t), 20_000);
    expect(await allJobIds(t)).toEqual(jobIdsFor(ids));
    expect(bridge.stats().errors).toBeGreaterThan(0);
    expect(bridge.stats().entries).toBe(ids.length);
    expect((await deadLetters(t)).length).toBe(0);
  });
});
