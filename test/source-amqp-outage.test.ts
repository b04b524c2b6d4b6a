// RabbitMQ unavailable for 10 s under a running bridge (WSS_SOURCE=amqp), on the suite's own
// vhost: its user loses its permissions and the bridge's connection is closed, so every
// reconnection is refused until the permissions come back. The bridge holds a batch in hand
// when its connection goes: it keeps running, /readyz (a real health server) says 503 naming
// the broker (never the password), the batch's messages come back from the queue once it
// reconnects by itself, and every event reaches the receiver exactly once.
import { describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
import { createPublisher } from '../src/producers/sources/index.js';
import { startHealthServer } from '../src/probes/health-server.js';
import { publishTo } from '../src/queue/publish.js';
import { startWorker } from '../src/workers/worker.js';
import { cutOff, grant, queueCounts, useAmqpVhost } from './helpers/amqp.js';
import { allJobIds, endpoint, isolatedEnv, waitUntil, useBridgeTest } from './helpers/bridge-context.js';
import { sleep } from './helpers/context.js';
import { startReceiver } from './helpers/receiver.js';

const { cleanups, context } = useBridgeTest();
const broker = useAmqpVhost();
const OUTAGE_MS = 10_000;

describe('WSS_SOURCE=amqp: the broker unavailable for 10 s', () => {
  it('keeps running, /readyz 503 then 200, reconnects by itself, loses nothing and adds no job twice', async () => {
    const rx = await startReceiver();
    cleanups.push(() => rx.close());
    const env = isolatedEnv({ WSS_SOURCE: 'amqp', WSS_AMQP_URL: broker.amqp().url, WSS_AMQP_QUEUE: 'outage' });
    const t = await context(env, {
      tenants: [
        { id: 'acme', endpoints: [endpoint('a', { url: `${rx.url}/a` }), endpoint('b', { url: `${rx.url}/b` })] },
      ],
    });
    const worker = await startWorker(t.ctx);
    cleanups.push(() => worker.stop());
    // A batch holding an `h…` event waits here until released: it is in hand when the broker goes.
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let held = 0;
    const bridge = await startBridge(t.ctx, {
      hooks: {
        beforePlan: async (messages) => {
          if (!messages.some((m) => m.fields?.['id']?.startsWith('h'))) return;
          held++;
          await gate;
        },
      },
    });
    cleanups.push(() => bridge.stop());
    const health = await startHealthServer(t.ctx, { roles: () => [bridge], port: 0 });
    cleanups.push(() => health.stop());
    const readyz = async () => {
      const res = await fetch(`${health.url}/readyz`);
      return { status: res.status, text: await res.text() };
    };

    const publisher = createPublisher(t.config, t.ctx.redis);
    cleanups.push(() => publisher.close());
    const send = async (prefix: string, n: number) => {
      for (let i = 0; i < n; i++)
        await publishTo(publisher, { tenant: 'acme', type: 'order.created', data: { i }, id: `${prefix}${i}` });
    };
    await send('e', 10);
    await rx.waitFor(20);
    expect((await readyz()).status).toBe(200);

    await send('h', 10);
    await waitUntil('a batch in hand', () => held > 0);
    const cutAt = Date.now();
    expect(await cutOff(broker.amqp(), /wss bridge/)).toBe(1);
    await waitUntil('/readyz 503', async () => (await readyz()).status === 503, 10_000);
    const down = await readyz();
    expect(down.text).toMatch(
      /"name":"bridge","ok":false,"detail":"amqp: lost the connection to amqp:\/\/[^"]*:\*\*\*@/,
    );
    expect(down.text).not.toContain(broker.amqp().password);
    // The batch in hand is committed (its jobs go to Redis), but cannot be acknowledged.
    release();
    await waitUntil('the failed acknowledgement', () => bridge.stats().errors > 0);

    await sleep(Math.max(0, cutAt + OUTAGE_MS - Date.now()));
    const still = await readyz();
    expect(still.status).toBe(503);
    expect(still.text).toMatch(/cannot connect to amqp:\/\/[^"]*:\*\*\*@/);
    expect(bridge.stats().errors).toBeGreaterThan(1); // it kept trying
    await grant(broker.amqp());
    await waitUntil('/readyz 200', async () => (await readyz()).status === 200, 20_000);

    await send('r', 5);
    const ids = [
      ...['e', 'h'].flatMap((p) => Array.from({ length: 10 }, (_, i) => `${p}${i}`)),
      'r0',
      'r1',
      'r2',
      'r3',
      'r4',
    ];
    await rx.waitFor(ids.length * 2, 30_000);
    await waitUntil('every message acknowledged', async () => {
      const c = await queueCounts(broker.amqp(), 'outage');
      return c.ready === 0 && c.unacked === 0;
    });
    await sleep(500); // anything added twice would be delivered by now
    const seen = rx.requests.map((r) => `${r.path} ${String(r.headers['x-wss-event-id'])}`).sort();
    expect(seen).toEqual(ids.flatMap((id) => [`/a ${id}`, `/b ${id}`]).sort());
    expect(await allJobIds(t)).toHaveLength(ids.length * 2);
    // The held batch came back from the queue (redelivered) and was handled again.
    expect(bridge.stats().claimed).toBeGreaterThanOrEqual(10);
    expect(t.logs.join('\n')).toMatch(/amqp: connection lost; unacknowledged messages go back to the queue/);
    expect(t.logs.join('\n')).not.toContain(broker.amqp().password);
  });
});
