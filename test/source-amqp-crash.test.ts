// Real bridge processes on the AMQP source killed with SIGKILL (test/fixtures/crashing-bridge.mjs):
// - after a batch's jobs are in Redis and before its acknowledgement: RabbitMQ requeues what
//   the dead connection held, the next bridge handles it again, no job is added twice and the
//   receiver gets every event exactly once;
// - on one message every time (a poison pill): the quorum queue's x-delivery-count reaches
//   WSS_MAX_ENTRY_DELIVERIES and the message is dead-lettered as poison; its neighbours go through.
// And a message returned twice that reaches a consuming bridge is handled alone, with nothing
// else unacknowledged on the channel, so a crash on it would return no neighbour with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
import { createPublisher } from '../src/producers/sources/index.js';
import { publishTo } from '../src/queue/publish.js';
import { startWorker } from '../src/workers/worker.js';
import { publishRaw, queueCounts, useAmqpVhost } from './helpers/amqp.js';
import {
  allJobIds,
  deadLetters,
  endpoint,
  isolatedEnv,
  waitUntil,
  useBridgeTest,
  type TestCtx,
} from './helpers/bridge-context.js';
import { startReceiver } from './helpers/receiver.js';
import { childEnv, spawnWss } from './helpers/wss-process.js';

const { redis, cleanups, context } = useBridgeTest();
const broker = useAmqpVhost();
const CRASHING_BRIDGE = fileURLToPath(new URL('./fixtures/crashing-bridge.mjs', import.meta.url));
let queues = 0;

function amqpEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...isolatedEnv({
      WSS_SOURCE: 'amqp',
      WSS_AMQP_URL: broker.amqp().url,
      WSS_AMQP_QUEUE: `crash${++queues}`,
      WSS_HEALTH_PORT: '0',
      ...extra,
    }),
    REDIS_URL: redis().url,
  };
}

const tenants = (url: string) => ({
  tenants: [{ id: 'acme', endpoints: [endpoint('a', { url: `${url}/a` }), endpoint('b', { url: `${url}/b` })] }],
});

async function publish(t: TestCtx, ids: string[]): Promise<void> {
  const publisher = createPublisher(t.config, t.ctx.redis);
  try {
    for (const id of ids) await publishTo(publisher, { tenant: 'acme', type: 'order.created', data: { id }, id });
  } finally {
    await publisher.close();
  }
}

/** Runs the crashing bridge once; resolves with how it ended and what it printed. */
function crashingBridge(env: Record<string, string>): {
  child: ChildProcess;
  ended: Promise<{ signal: string | null; out: string }>;
} {
  const child = spawn(process.execPath, [CRASHING_BRIDGE], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(async () => void child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const ended = new Promise<{ signal: string | null; out: string }>((res) =>
    child.once('exit', (_code, signal) => res({ signal, out })),
  );
  return { child, ended };
}

const jobIdsFor = (ids: string[]) => ids.flatMap((id) => [`acme.a.${id}`, `acme.b.${id}`]).sort();
const drained = async (env: Record<string, string>) => {
  const c = await queueCounts(broker.amqp(), env['WSS_AMQP_QUEUE']!);
  return c.ready === 0 && c.unacked === 0;
};

describe('WSS_SOURCE=amqp: bridge killed with SIGKILL', () => {
  it('mid-batch (jobs in Redis, not acknowledged): nothing lost, no job twice, each event delivered once', async () => {
    const rx = await startReceiver();
    cleanups.push(() => rx.close());
    const env = amqpEnv({ WSS_KEEP_COMPLETED_COUNT: '0' });
    const t = await context(env, tenants(rx.url));
    const worker = await startWorker(t.ctx);
    cleanups.push(() => worker.stop());
    const ids = Array.from({ length: 60 }, (_, i) => `k${i}`);
    await publish(t, ids);

    // Dies on the first batch of at least 10 events (20 jobs), after its jobs were added.
    const first = crashingBridge({ ...env, CRASH_AFTER_ENQUEUE: '20' });
    const { signal, out } = await first.ended;
    expect(signal).toBe('SIGKILL');
    const enqueued = /enqueued (\S+)/.exec(out)![1]!.split(',');
    expect(enqueued.length).toBeGreaterThanOrEqual(20);
    // Those jobs are delivered; their messages went back to the queue with the dead connection.
    await rx.waitFor(enqueued.length);

    const second = spawnWss(['start', '--role', 'bridge'], env);
    cleanups.push(async () => void (await second.kill('SIGKILL')));
    await rx.waitFor(ids.length * 2, 30_000);
    await waitUntil('every message acknowledged', () => drained(env), 30_000);
    await waitUntil('jobs completed and removed', async () => (await allJobIds(t)).length === 0);
    const seen = rx.requests.map((r) => `acme.${r.path.slice(1)}.${String(r.headers['x-wss-event-id'])}`).sort();
    expect(seen).toEqual(jobIdsFor(ids));
    // The second bridge handled the returned messages (redelivered), adding no job for them.
    expect(rx.requests).toHaveLength(ids.length * 2);
  });

  it('on one message every time: dead-lettered as poison after WSS_MAX_ENTRY_DELIVERIES (5); the others go through', async () => {
    const env = amqpEnv();
    const t = await context(env, tenants('http://127.0.0.1:9'));
    const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
    await publish(t, ids);

    // Restarted after every death, as an orchestrator would; bounded.
    let deaths = 0;
    const done = async () => (await deadLetters(t)).length > 0 && (await allJobIds(t)).length === 18;
    for (;;) {
      if (deaths > 8) throw new Error(`still dying after ${deaths} restarts`);
      const b = crashingBridge({ ...env, CRASH_ON_EVENT: 'p4' });
      const outcome = await Promise.race([
        b.ended.then((e) => e.signal),
        waitUntil('poison handled', done, 30_000).then(() => 'done' as const),
      ]);
      if (outcome === 'done') break;
      expect(outcome).toBe('SIGKILL');
      deaths++;
    }
    expect(deaths).toBe(5);
    const dead = await deadLetters(t);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.fields).toMatchObject({ id: 'p4', tenant: 'acme' });
    expect(dead[0]!.fields['entryId']).toMatch(/^crash\d+#\d+$/);
    expect(dead[0]!.fields['reason']).toMatch(/^poison: delivered 5 times without being acknowledged/);
    expect(await allJobIds(t)).toEqual(jobIdsFor(ids.filter((id) => id !== 'p4')));
    await waitUntil('every message acknowledged', () => drained(env), 30_000);
  });
});

describe('WSS_SOURCE=amqp: a message returned twice (it was in hand at two losses)', () => {
  it('reaching a consuming bridge, is handled alone: the consumer is stopped and nothing else is unacknowledged', async () => {
    const env = amqpEnv({ WSS_BATCH_SIZE: '1' }); // prefetch 2
    const queue = env['WSS_AMQP_QUEUE']!;
    const t = await context(env, tenants('http://127.0.0.1:9'));
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const batches: string[][] = [];
    let unackedWhileSuspect = -1;
    const bridge = await startBridge(t.ctx, {
      hooks: {
        beforePlan: async (messages) => {
          const ids = messages.map((m) => m.fields?.['id'] ?? '?');
          batches.push(ids);
          if (ids.includes('A')) await gate;
          // The broker's count lags a little: a neighbour held with S would keep it at 2 all along.
          if (ids.includes('S'))
            await waitUntil(
              'only S unacknowledged',
              async () => {
                unackedWhileSuspect = (await queueCounts(broker.amqp(), queue)).unacked;
                return unackedWhileSuspect === 1;
              },
              20_000,
            ).catch(() => undefined);
        },
      },
    });
    cleanups.push(() => bridge.stop());
    await waitUntil('consuming', async () => (await bridge.ready()).ok);
    const conn = await broker.connection();
    const event = (id: string) => ({ body: `{"tenant":"acme","type":"order.created","data":{},"id":"${id}"}` });
    // A is held in the hook and B fills the prefetch: nothing more goes to the bridge for now.
    await publishRaw(conn, queue, [event('A'), event('B')]);
    await waitUntil('A and B with the bridge', async () => (await queueCounts(broker.amqp(), queue)).unacked === 2);
    await publishRaw(conn, queue, [event('S')]);
    for (let i = 0; i < 2; i++) {
      // Taken and returned unacknowledged: x-delivery-count + 1.
      const ch = await conn.createChannel();
      const got = await ch.get(queue, { noAck: false });
      expect(got && JSON.parse(got.content.toString()).id).toBe('S');
      await ch.close();
    }
    await publishRaw(conn, queue, [event('C')]);
    release();
    await waitUntil('A, B, S and C handled', () => bridge.stats().entries === 4, 20_000);
    expect(batches.find((b) => b.includes('S'))).toEqual(['S']);
    expect(unackedWhileSuspect).toBe(1);
    // It consumes again afterwards.
    await publishRaw(conn, queue, [event('D')]);
    await waitUntil('D handled', () => bridge.stats().entries === 5);
    expect(await allJobIds(t)).toEqual(jobIdsFor(['A', 'B', 'C', 'D', 'S']));
  });
});
