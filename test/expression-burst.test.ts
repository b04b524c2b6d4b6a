// A burst of large transformed bodies (issue 18, item 3): 450 events whose transform builds a
// 200 KB body each, well under WSS_MAX_EVENT_BYTES and accepted by the registration trial, read
// in one batch. The expression thread (64 MB heap) must not hold a whole chunk's bodies: every
// body is delivered, nothing is dead-lettered, the endpoint is not marked broken, and another
// tenant's events of the same reads are delivered too. Real Redis, the real pool in a real
// bridge, a real worker and receiver.
import { describe, expect, it } from 'vitest';
import { splitTasks } from '../src/expressions/chunk.js';
import { ExpressionPool, type ExprTask } from '../src/expressions/pool.js';
import { createLogger } from '../src/lib/log.js';
import { startBridge } from '../src/producers/bridge.js';
import { startWorker } from '../src/workers/worker.js';
import { deadLetters, isolatedEnv, useBridgeTest, waitUntil } from './helpers/bridge-context.js';
import { startReceiver } from './helpers/receiver.js';

const { cleanups, context } = useBridgeTest();

const EVENTS = 450;
const BODY_CHARS = 200_000;
const BIG = `{ "id": id, "blob": $pad("", ${BODY_CHARS}, "x") }`;

describe('a burst of large transformed bodies', () => {
  it('delivers all 450 bodies of 200 KB: no thread killed, nothing dead-lettered, the endpoint not broken', async () => {
    const rx = await startReceiver(() => ({ status: 204 }));
    cleanups.push(() => rx.close());
    const secret = 'burst-secret-0123456789';
    // The deadline is raised so that only memory is under test: on a loaded machine a 200 KB
    // $pad can pass 50 ms of wall clock, which the pool handles as a timeout (expressions.md).
    const env = { WSS_BATCH_SIZE: '1000', WSS_CONCURRENCY: '16', WSS_EXPR_TIMEOUT_MS: '2000' };
    const t = await context(isolatedEnv(env), {
      tenants: [
        { id: 'bulk', endpoints: [{ id: 'big', url: `${rx.url}/big`, secret, transform: BIG }] },
        { id: 'other', endpoints: [{ id: 'small', url: `${rx.url}/small`, secret }] },
      ],
    });
    // Every event of the burst goes in before the bridge starts, so they come in one read.
    const p = t.ctx.redis.pipeline();
    for (let i = 0; i < EVENTS; i++) {
      p.xadd(t.config.stream, '*', 'tenant', 'bulk', 'type', 'order.created', 'data', '{}', 'id', `b${i}`);
      if (i % 45 === 0)
        p.xadd(t.config.stream, '*', 'tenant', 'other', 'type', 'order.created', 'data', '{}', 'id', `o${i}`);
    }
    await p.exec();
    const bridge = await startBridge(t.ctx);
    const worker = await startWorker(t.ctx);
    cleanups.push(async () => {
      await bridge.stop();
      await worker.stop();
    });

    await waitUntil(
      'every delivery, or a dead letter',
      async () => rx.requests.length >= EVENTS + 10 || (await deadLetters(t)).length > 0,
      220_000,
    );
    expect(await deadLetters(t)).toEqual([]);
    const big = rx.requests.filter((r) => r.path === '/big');
    expect(big).toHaveLength(EVENTS);
    expect(new Set(big.map((r) => (JSON.parse(r.body) as { id: string }).id)).size).toBe(EVENTS);
    expect(big.every((r) => r.body.length > BODY_CHARS)).toBe(true);
    expect(rx.requests.filter((r) => r.path === '/small')).toHaveLength(10);
    expect(await deadLetters(t)).toEqual([]);
    expect((await t.registry.getEndpointConfig('bulk', 'big'))?.broken).toBeUndefined();
    // No thread ran out of heap (WSS_HEAP), and none was terminated at all.
    expect(t.logs.join('')).not.toContain('WSS_HEAP');
    expect(t.logs.join('')).not.toContain('expressions: thread');
    // 90 MB of bodies through Redis and HTTP: minutes on a loaded 2-core machine, not a speed test.
  }, 240_000);
});

describe('the pool, directly', () => {
  it('sends a chunk back in several replies when its bodies pass the bound, in order and complete', async () => {
    // 16 MB heap: 2 MB of bodies per reply, so 120 bodies of 200 KB take about a dozen replies.
    const pool = new ExpressionPool({ threads: 1, timeoutMs: 5_000, memoryMb: 16, breakAfter: 3 });
    try {
      const inputs = Array.from({ length: 120 }, (_, i) => JSON.stringify({ id: `e${i}`, data: {} }));
      const tasks: ExprTask[] = inputs.map((_, i) => ({ filter: undefined, transform: BIG, input: i, group: 0 }));
      const out = await pool.run(inputs, tasks, [3]);
      expect(pool.terminated).toBe(0);
      expect(out.map((o) => (o.status === 'body' ? (JSON.parse(o.body) as { id: string }).id : o.status))).toEqual(
        inputs.map((_, i) => `e${i}`),
      );
    } finally {
      await pool.close();
    }
  });

  it('does not blame the evaluation in hand for a heap its chunk filled: it runs again alone', async () => {
    // Bodies bounded only by an oversized bound (as before the fix): the 16 MB heap fills up
    // partway through; the evaluation running then succeeds alone and nothing counts as failed.
    const lines: string[] = [];
    const log = createLogger('warn', { write: (l: string) => void lines.push(l) });
    const pool = new ExpressionPool({
      threads: 1,
      timeoutMs: 5_000,
      memoryMb: 16,
      breakAfter: 2,
      chunkChars: 1e9,
      log,
    });
    try {
      const inputs = Array.from({ length: 150 }, (_, i) => JSON.stringify({ id: `e${i}`, data: {} }));
      const tasks: ExprTask[] = inputs.map((_, i) => ({ filter: undefined, transform: BIG, input: i, group: 0 }));
      const out = await pool.run(inputs, tasks, [2]);
      expect(out.filter((o) => o.status !== 'body').map((o) => o.status)).toEqual([]);
      // The heap did run out (once), and the evaluation in hand was not blamed for it.
      expect(lines.join('')).toContain('the evaluation in hand runs again alone before it is blamed');
    } finally {
      await pool.close();
    }
  });
});

describe('splitTasks', () => {
  it('cuts by count and by characters of distinct envelopes, never leaving a chunk empty', () => {
    const inputs = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(150), 'd'];
    const task = (input: number): ExprTask => ({ filter: 'true', transform: undefined, input, group: -1 });
    // Two endpoints per event: the second task of an event adds no characters.
    const tasks = [task(0), task(0), task(1), task(1), task(2), task(3), task(3), task(3)];
    expect(splitTasks(inputs, tasks, 100, 100)).toEqual([[0, 1, 2, 3], [4], [5, 6, 7]]);
    expect(splitTasks(inputs, tasks, 3, 1_000)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7],
    ]);
    expect(splitTasks(inputs, [], 3, 10)).toEqual([]);
  });
});
