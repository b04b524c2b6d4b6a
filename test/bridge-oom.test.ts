// A bridge whose commits fail for a while (Redis out of memory under maxmemory + noeviction):
// it keeps the batch pending, says so through readiness and a metric, loses no dead letter,
// and carries on once Redis has room again.
import { describe, expect, it } from 'vitest';
import { bridgeCommitFailures } from '../src/lib/metrics.js';
import { startBridge, type RunningBridge } from '../src/producers/bridge.js';
import { freeMemory, publishIntoFullRedis } from './helpers/full-redis.js';
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

async function setup(env: Record<string, string> = {}): Promise<{ t: TestCtx; bridge: RunningBridge }> {
  const t = await context(isolatedEnv(env), ACME);
  const bridge = (await startBridge(t.ctx)) as RunningBridge;
  cleanups.push(() => bridge.stop());
  const admin = redis().client();
  cleanups.push(() => freeMemory(admin));
  return { t, bridge };
}

const commitFailures = async () => (await bridgeCommitFailures.get()).values[0]?.value ?? 0;

describe('bridge commits refused by a full Redis (OOM)', () => {
  it('reports not ready after WSS_BRIDGE_UNHEALTHY_AFTER_MS of failed commits, counts them, and recovers', async () => {
    const { t, bridge } = await setup({ WSS_BRIDGE_UNHEALTHY_AFTER_MS: '1000' });
    expect(await bridge.ready()).toMatchObject({ ok: true });
    const failuresBefore = await commitFailures();
    const events = [0, 1, 2].map((i) => ['tenant', 'acme', 'type', 'order.created', 'data', '{}', 'id', `oom${i}`]);
    await publishIntoFullRedis(redis().client(), t.config.stream, events);

    await waitUntil('bridge not ready', async () => !(await bridge.ready()).ok, 20_000);
    const r = await bridge.ready();
    expect(r.detail).toMatch(/have failed for \d+ s/);
    expect(r.detail).toMatch(/OOM/);
    expect(await commitFailures()).toBeGreaterThan(failuresBefore);
    expect(await pendingCount(t)).toBe(3);
    expect(await allJobIds(t)).toEqual([]);
    // Retried in hand, not re-read: an outage does not push healthy entries towards the poison bound.
    const pending = (await t.ctx.redis.xpending(t.config.stream, t.config.group, '-', '+', 10)) as Array<
      [string, string, number, number]
    >;
    expect(pending.map((p) => p[3])).toEqual([1, 1, 1]);

    await freeMemory(redis().client());
    await waitUntil('batch committed', async () => (await pendingCount(t)) === 0 && (await bridge.ready()).ok, 20_000);
    expect(await allJobIds(t)).toEqual(['acme.a.oom0', 'acme.a.oom1', 'acme.a.oom2']);
  });

  it('stays ready while commits fail for less than WSS_BRIDGE_UNHEALTHY_AFTER_MS', async () => {
    const { t, bridge } = await setup({ WSS_BRIDGE_UNHEALTHY_AFTER_MS: '60000' });
    const failuresBefore = await commitFailures();
    await publishIntoFullRedis(redis().client(), t.config.stream, [
      ['tenant', 'acme', 'type', 'order.created', 'data', '{}', 'id', 'short1'],
    ]);
    await waitUntil('a commit failed', async () => (await commitFailures()) > failuresBefore + 1);
    expect(await bridge.ready()).toMatchObject({ ok: true });
    await freeMemory(redis().client());
    await waitUntil('batch committed', async () => (await pendingCount(t)) === 0);
  });

  it('does not acknowledge an entry whose dead letter Redis refused; writes it once Redis has room', async () => {
    const { t, bridge } = await setup();
    // Unknown tenant: the batch is dead letters only, no addBulk to fail first.
    const ids = await publishIntoFullRedis(redis().client(), t.config.stream, [
      ['tenant', 'nobody', 'type', 'order.created', 'data', '{}', 'id', 'dl1'],
      ['tenant', 'nobody', 'type', 'order.created', 'data', '{}', 'id', 'dl2'],
    ]);
    await waitUntil('a failed commit', () => bridge.stats().errors >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await pendingCount(t)).toBe(2);
    expect(await deadLetters(t)).toEqual([]);

    await freeMemory(redis().client());
    await waitUntil('entries acknowledged', async () => (await pendingCount(t)) === 0);
    const dead = await deadLetters(t);
    expect(dead.map((d) => d.fields['entryId'])).toEqual(ids);
    expect(dead.every((d) => d.fields['reason'] === 'unknown tenant "nobody"')).toBe(true);
  });
});
