// Safe trimming: the stream only loses entries every consumer group has acknowledged.
import { describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../src/producers/bridge.js';
import { pruneIdleConsumers } from '../src/producers/sources/redis-stream/consumer-group.js';
import { safeTrimFloor, trimStream } from '../src/producers/sources/redis-stream/trim.js';
import { endpoint, isolatedEnv, waitUntil, type TestCtx, useBridgeTest } from './helpers/bridge-context.js';

const { redis, cleanups, context } = useBridgeTest();

const TENANTS = { tenants: [{ id: 'acme', endpoints: [endpoint('all')] }] };

async function setup(env: Record<string, string> = {}): Promise<TestCtx> {
  // Trimming at once: retention is covered in stream-retention.test.ts.
  const t = await context(isolatedEnv({ WSS_STREAM_RETENTION: '0', ...env }), TENANTS);
  return t;
}

async function bridge(t: TestCtx): Promise<RunningBridge> {
  const b = await startBridge(t.ctx);
  cleanups.push(() => b.stop());
  return b;
}

const xadd = (t: TestCtx, id: string) =>
  t.ctx.redis.xadd(t.config.stream, '*', 'tenant', 'acme', 'type', 'x', 'data', '{}', 'id', id) as Promise<string>;
const settle = () => new Promise((r) => setTimeout(r, 400)); // several trim intervals (100 ms)

describe('stream trimming', () => {
  it('keeps entries another group has not read or not acknowledged, trims the rest', async () => {
    const t = await setup();
    const r = t.ctx.redis;
    await r.xgroup('CREATE', t.config.stream, 'other', '0', 'MKSTREAM');
    const b = await bridge(t);
    const ids = [await xadd(t, 'e1'), await xadd(t, 'e2'), await xadd(t, 'e3')];
    await waitUntil('bridge handled all', () => b.stats().entries === 3);

    await settle();
    expect(await r.xlen(t.config.stream)).toBe(3); // "other" has read nothing

    await r.xreadgroup('GROUP', 'other', 'o1', 'COUNT', 2, 'STREAMS', t.config.stream, '>');
    await settle();
    expect(await r.xlen(t.config.stream)).toBe(3); // e1, e2 pending in "other"

    await r.xack(t.config.stream, 'other', ids[0]!);
    await waitUntil('e1 trimmed', async () => (await r.xlen(t.config.stream)) === 2);
    await settle();
    expect(((await r.xrange(t.config.stream, '-', '+')) as Array<[string, string[]]>).map(([id]) => id)).toEqual([
      ids[1],
      ids[2],
    ]);

    await r.xgroup('DESTROY', t.config.stream, 'other');
    await waitUntil('all acknowledged entries trimmed', async () => (await r.xlen(t.config.stream)) === 0);
    expect(b.stats().trimmed).toBe(3);
  });

  it('never trims entries the bridge itself has not acknowledged', async () => {
    const t = await setup({ WSS_STREAM_TRIM: 'false' });
    const r = t.ctx.redis;
    await r.xgroup('CREATE', t.config.stream, t.config.group, '0', 'MKSTREAM');
    const ids = [await xadd(t, 'p1'), await xadd(t, 'p2')];
    await r.xreadgroup('GROUP', t.config.group, 'someone', 'COUNT', 1, 'STREAMS', t.config.stream, '>');
    // p1 pending, p2 never delivered: nothing may go.
    expect(await safeTrimFloor(r, t.config.stream)).toBe(ids[0]);
    expect(await trimStream(r, t.config.stream)).toBe(0);
    await r.xack(t.config.stream, t.config.group, ids[0]!);
    expect(await safeTrimFloor(r, t.config.stream)).toBe(
      `${ids[0]!.split('-')[0]}-${Number(ids[0]!.split('-')[1]) + 1}`,
    );
    expect(await trimStream(r, t.config.stream)).toBe(1);
    expect(await r.xlen(t.config.stream)).toBe(1);
  });

  it('keeps everything when no group exists, and does not trim when WSS_STREAM_TRIM=false', async () => {
    const t = await setup({ WSS_STREAM_TRIM: 'false' });
    await xadd(t, 'n1');
    expect(await safeTrimFloor(t.ctx.redis, t.config.stream)).toBeUndefined();
    expect(await trimStream(t.ctx.redis, t.config.stream)).toBe(0);
    const b = await bridge(t);
    await waitUntil('handled', () => b.stats().entries === 1);
    await settle();
    expect(await t.ctx.redis.xlen(t.config.stream)).toBe(1);
    expect(b.stats().trimmed).toBe(0);
  });
});

describe('dead consumers', () => {
  it('removes consumers idle past the limit with nothing pending; keeps busy ones and itself', async () => {
    const r = redis().client();
    const stream = 'prune:events';
    await r.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    await r.xadd(stream, '*', 'n', '1');
    await r.xadd(stream, '*', 'n', '2');
    const read = (await r.xreadgroup('GROUP', 'g', 'gone', 'COUNT', 1, 'STREAMS', stream, '>')) as Array<
      [string, Array<[string, string[]]>]
    >;
    await r.xack(stream, 'g', read[0]![1][0]![0]);
    await r.xreadgroup('GROUP', 'g', 'busy', 'COUNT', 1, 'STREAMS', stream, '>'); // stays pending
    await r.xgroup('CREATECONSUMER', stream, 'g', 'me');
    await new Promise((res) => setTimeout(res, 50));

    expect(await pruneIdleConsumers(r, stream, 'g', 'me', 60_000)).toBe(0); // nobody idle that long
    expect(await pruneIdleConsumers(r, stream, 'g', 'me', 20)).toBe(1);
    const names = ((await r.xinfo('CONSUMERS', stream, 'g')) as unknown[][]).map((c) =>
      String(c[c.indexOf('name') + 1]),
    );
    expect(names.sort()).toEqual(['busy', 'me']);
  });
});
