// The bridge against a real Redis with WSS_MAX_EVENT_BYTES and WSS_BATCH_BYTES: oversize entries
// are dead-lettered (kind too_large) and acknowledged, and a run of large entries is read in
// reads that stay within the byte budget.
import { describe, expect, it } from 'vitest';
import { startBridge, type BridgeHooks, type RunningBridge } from '../src/producers/bridge.js';
import {
  allJobIds,
  deadLetters,
  endpoint,
  isolatedEnv,
  pendingCount,
  waitUntil,
  type TestCtx,
  useBridgeTest,
} from './helpers/bridge-context.js';

const { cleanups, context } = useBridgeTest();

async function setup(env: Record<string, string>, hooks?: BridgeHooks): Promise<{ t: TestCtx; bridge: RunningBridge }> {
  const t = await context(isolatedEnv(env), {
    tenants: [
      {
        id: 'acme',
        endpoints: [endpoint('orders'), endpoint('padded', { transform: '{ "pad": $pad("", 3000, "x") }' })],
      },
    ],
  });
  const bridge = await startBridge(t.ctx, hooks ? { hooks } : {});
  cleanups.push(() => bridge.stop());
  return { t, bridge };
}

describe('bridge: WSS_MAX_EVENT_BYTES', () => {
  it('dead-letters an oversize entry (too_large, data not copied) and an oversize transform for that endpoint only', async () => {
    const { t, bridge } = await setup({ WSS_MAX_EVENT_BYTES: '2048' });
    const marker = 'BIG-BODY-MARKER-91c2';
    const big = JSON.stringify({ m: marker, pad: 'x'.repeat(4_000) });
    const bigId = (await t.ctx.redis.xadd(
      t.config.stream,
      '*',
      'tenant',
      'acme',
      'type',
      'order.created',
      'data',
      big,
      'id',
      'big',
    )) as string;
    const smallId = (await t.ctx.redis.xadd(
      t.config.stream,
      '*',
      'tenant',
      'acme',
      'type',
      'order.created',
      'data',
      '{"n":1}',
      'id',
      'small',
    )) as string;
    await waitUntil('both entries handled', async () => bridge.stats().entries === 2 && (await pendingCount(t)) === 0);

    expect(await allJobIds(t)).toEqual(['acme.orders.small']);
    const dead = (await deadLetters(t)).map((d) => d.fields);
    expect(dead).toEqual([
      {
        tenant: 'acme',
        type: 'order.created',
        id: 'big',
        dataBytes: String(big.length),
        reason: `field "data" is ${big.length} bytes, more than WSS_MAX_EVENT_BYTES (2048)`,
        entryId: bigId,
      },
      {
        tenant: 'acme',
        type: 'order.created',
        data: '{"n":1}',
        id: 'small',
        endpoint: 'padded',
        entryId: smallId,
        reason: 'endpoint "padded": transform produced 3010 bytes, more than WSS_MAX_EVENT_BYTES (2048)',
      },
    ]);
    expect(t.logs.filter((l) => l.includes('"kind":"too_large"'))).toHaveLength(2);
    expect(t.logs.join('\n')).not.toContain(marker);
  });
});

describe('bridge: WSS_BATCH_BYTES', () => {
  it('after a large entry, reads only as many entries as fit the byte budget', async () => {
    const batches: number[] = [];
    const { t, bridge } = await setup(
      // 64 KiB budget, entries of about 20 KB: at most 3 per read once the bridge has seen one.
      { WSS_MAX_EVENT_BYTES: '65536', WSS_BATCH_BYTES: '65536', WSS_BATCH_SIZE: '500' },
      { afterEnqueue: async (info) => void batches.push(info.entryIds.length) },
    );
    const data = JSON.stringify({ pad: 'y'.repeat(20_000) });
    await t.ctx.redis.xadd(
      t.config.stream,
      '*',
      'tenant',
      'acme',
      'type',
      'order.created',
      'data',
      data,
      'id',
      'first',
    );
    await waitUntil('first entry handled', () => bridge.stats().entries === 1);
    // Added in one MULTI, so a read with COUNT 500 would take all 20 at once.
    const m = t.ctx.redis.multi();
    for (let i = 0; i < 20; i++)
      m.xadd(t.config.stream, '*', 'tenant', 'acme', 'type', 'order.created', 'data', data, 'id', `e${i}`);
    await m.exec();
    await waitUntil(
      'all entries handled',
      async () => bridge.stats().entries === 21 && (await pendingCount(t)) === 0,
      20_000,
    );
    expect(batches.reduce((a, b) => a + b, 0)).toBe(21);
    expect(Math.max(...batches)).toBeLessThanOrEqual(3);
  });
});
