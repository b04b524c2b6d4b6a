// Which pending entries a bridge takes over, and when: at once from consumers with no
// connection, never at once from a live one, after WSS_CLAIM_IDLE_MS when Redis refuses
// CLIENT LIST; and the chunking that keeps a suspect entry alone.
import { describe, expect, it } from 'vitest';
import { readerConnectionName } from '../src/producers/sources/redis-stream/claim.js';
import { nextChunk, parsePending, type PendingEntry } from '../src/producers/sources/redis-stream/pending.js';
import { startBridge, type RunningBridge } from '../src/producers/bridge.js';
import { parseConfig } from '../src/config.js';
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

const { redis, cleanups, context } = useBridgeTest();
const ACME = { tenants: [{ id: 'acme', endpoints: [endpoint('a')] }] };

const p = (id: string, deliveries: number): PendingEntry => ({ id, consumer: 'c', idleMs: 5, deliveries });

describe('nextChunk', () => {
  it('takes the leading run of entries delivered once together', () => {
    expect(nextChunk([p('1', 1), p('2', 1), p('3', 2), p('4', 1)], 5)).toEqual({
      entries: [p('1', 1), p('2', 1)],
      poison: false,
    });
  });
  it('takes an entry delivered twice or more alone', () => {
    expect(nextChunk([p('1', 3), p('2', 1)], 5)).toEqual({ entries: [p('1', 3)], poison: false });
  });
  it('returns the leading run at the bound as poison', () => {
    expect(nextChunk([p('1', 5), p('2', 7), p('3', 4)], 5)).toEqual({ entries: [p('1', 5), p('2', 7)], poison: true });
    expect(nextChunk([p('1', 4)], 5)).toEqual({ entries: [p('1', 4)], poison: false });
  });
  it('returns undefined for an empty list', () => {
    expect(nextChunk([], 5)).toBeUndefined();
  });
});

describe('config', () => {
  it('defaults WSS_MAX_ENTRY_DELIVERIES to 5 and WSS_BRIDGE_UNHEALTHY_AFTER_MS to 10 s, and names a bad value', () => {
    expect(parseConfig({})).toMatchObject({ bridge: { maxEntryDeliveries: 5, unhealthyAfterMs: 10_000 } });
    expect(() => parseConfig({ WSS_MAX_ENTRY_DELIVERIES: '1' })).toThrow(/WSS_MAX_ENTRY_DELIVERIES/);
    expect(() => parseConfig({ WSS_BRIDGE_UNHEALTHY_AFTER_MS: 'soon' })).toThrow(/WSS_BRIDGE_UNHEALTHY_AFTER_MS/);
  });
});

describe('parsePending and readerConnectionName', () => {
  it('parses the extended XPENDING reply', () => {
    expect(parsePending([['1-0', 'c1', 10, 2], 'junk'])).toEqual([
      { id: '1-0', consumer: 'c1', idleMs: 10, deliveries: 2 },
    ]);
  });
  it('encodes consumer names CLIENT SETNAME would refuse', () => {
    expect(readerConnectionName('host-12')).toBe('wss-bridge:host-12');
    expect(readerConnectionName('a b\n')).toBe('wss-bridge:a%20b%0A');
  });
});

const ctx = (env: Record<string, string>): Promise<TestCtx> => context(env, ACME);

/** A bridge on consumer c1 holding the batch (frozen after addBulk, connection open). */
async function holdingBridge(env: Record<string, string>): Promise<{ t: TestCtx; bridge: RunningBridge }> {
  const t = await ctx({ ...env, WSS_CONSUMER: 'c1' });
  let held = false;
  const bridge = (await startBridge(t.ctx, {
    hooks: { afterEnqueue: () => ((held = true), new Promise<void>(() => {})) },
  })) as RunningBridge;
  cleanups.push(() => bridge.stop());
  await t.ctx.redis.xadd(t.config.stream, '*', 'tenant', 'acme', 'type', 'x', 'data', '{}', 'id', 'h1');
  await waitUntil('batch held', () => held);
  return { t, bridge };
}

describe("claiming other consumers' entries", () => {
  it("leaves a live bridge's batch alone until WSS_CLAIM_IDLE_MS", async () => {
    const env = isolatedEnv({ WSS_CLAIM_IDLE_MS: '60000' });
    const { t } = await holdingBridge(env);
    const names = String(await t.ctx.redis.call('CLIENT', 'LIST'));
    expect(names).toContain(`name=${readerConnectionName('c1')} `);
    const other = (await startBridge((await ctx({ ...env, WSS_CONSUMER: 'c2' })).ctx)) as RunningBridge;
    cleanups.push(() => other.stop());
    // Its claim tick runs at start; give it time to (wrongly) take the batch.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(other.stats().errors).toBe(0);
    expect(other.stats().claimed).toBe(0);
    expect(await pendingCount(t)).toBe(1);
  });

  it('falls back to the idle-time claim when CLIENT LIST is refused', async () => {
    const admin = redis().client();
    await admin.call('ACL', 'SETUSER', 'limited', 'on', '>pw', '~*', '&*', '+@all', '-client|list');
    cleanups.push(async () => void (await admin.call('ACL', 'DELUSER', 'limited')));
    const url = redis().url.replace('redis://', 'redis://limited:pw@');
    const env = isolatedEnv({ WSS_CLAIM_IDLE_MS: '1000' });
    const { t, bridge } = await holdingBridge(env);
    await bridge.stop(); // its connection is gone: with CLIENT LIST it would be claimed at once
    const t2 = await context({ ...env, WSS_CONSUMER: 'c2' }, undefined, url);
    const other = (await startBridge(t2.ctx)) as RunningBridge;
    cleanups.push(() => other.stop());
    await waitUntil('entry claimed after it sat idle', async () => (await pendingCount(t)) === 0, 15_000);
    expect(other.stats().claimed).toBe(1);
    expect(t2.logs.some((l) => l.includes('CLIENT LIST or CLIENT SETNAME refused'))).toBe(true);
  });
});

describe('poison pill held by a hung bridge', () => {
  it('is dead-lettered when claimed as idle at the bound; its neighbour gets its jobs', async () => {
    const env = isolatedEnv({ WSS_CLAIM_IDLE_MS: '1000' });
    const t = await ctx({ ...env, WSS_CONSUMER: 'c2' });
    await t.ctx.redis.xgroup('CREATE', t.config.stream, t.config.group, '0', 'MKSTREAM');
    const bad = (await t.ctx.redis.xadd(
      t.config.stream,
      '*',
      'tenant',
      'acme',
      'type',
      'x',
      'data',
      '{}',
      'id',
      'bad',
    )) as string;
    await t.ctx.redis.xadd(t.config.stream, '*', 'tenant', 'acme', 'type', 'x', 'data', '{}', 'id', 'good');
    // A hung bridge: its connection is open (so it is not dead), it holds both entries, and
    // 'bad' has already been delivered 5 times (claimed back and forth by hung bridges).
    const ghost = redis().client();
    await ghost.call('CLIENT', 'SETNAME', readerConnectionName('ghost'));
    await ghost.call('XREADGROUP', 'GROUP', t.config.group, 'ghost', 'COUNT', 10, 'STREAMS', t.config.stream, '>');
    for (let i = 0; i < 4; i++) await ghost.call('XCLAIM', t.config.stream, t.config.group, 'ghost', 0, bad);

    const bridge = (await startBridge(t.ctx)) as RunningBridge;
    cleanups.push(() => bridge.stop());
    await waitUntil('both entries handled', async () => (await pendingCount(t)) === 0, 15_000);
    const dead = await deadLetters(t);
    expect(dead.map((d) => d.fields['entryId'])).toEqual([bad]);
    expect(dead[0]!.fields['reason']).toMatch(/^poison: delivered 5 times/);
    expect(await allJobIds(t)).toEqual(['acme.a.good']);
    expect(bridge.stats()).toMatchObject({ claimed: 2, poison: 1 });
  });
});
