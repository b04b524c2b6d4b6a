// Real bridge processes killed with SIGKILL, with the default consumer name (a new one per
// process): the next bridge takes over the dead one's pending batch at once, and an entry that
// kills every bridge reading it is dead-lettered as poison after WSS_MAX_ENTRY_DELIVERIES.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freeMemory, publishIntoFullRedis } from './helpers/full-redis.js';
import { childEnv, spawnWss, type WssProcess } from './helpers/wss-process.js';
import { tracked } from './helpers/children.js';
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
const CRASHING_BRIDGE = fileURLToPath(new URL('./fixtures/crashing-bridge.mjs', import.meta.url));
const TENANTS = { tenants: [{ id: 'acme', endpoints: [endpoint('a'), endpoint('b')] }] };

/** Stream, group and prefix of a fresh isolatedEnv, and nothing else: the defaults apply. */
function defaultsEnv(): Record<string, string> {
  const { WSS_STREAM, WSS_GROUP, WSS_PREFIX } = isolatedEnv();
  return {
    REDIS_URL: redis().url,
    WSS_STREAM: WSS_STREAM!,
    WSS_GROUP: WSS_GROUP!,
    WSS_PREFIX: WSS_PREFIX!,
    WSS_HEALTH_PORT: '0',
    WSS_ALLOW_PRIVATE_URLS: 'true',
  };
}

const seeded = (env: Record<string, string>): Promise<TestCtx> => context({ ...env, WSS_CONSUMER: 'test' }, TENANTS);

function bridgeProcess(env: Record<string, string>): WssProcess {
  const p = spawnWss(['start', '--role', 'bridge'], { ...env, LOG_LEVEL: 'info' });
  cleanups.push(async () => void (await p.kill('SIGKILL')));
  return p;
}

async function consumers(t: TestCtx): Promise<Array<{ name: string; pending: number }>> {
  const reply = (await t.ctx.redis.xinfo('CONSUMERS', t.config.stream, t.config.group)) as unknown[][];
  return reply.map((f) => ({ name: String(f[1]), pending: Number(f[3]) }));
}

const event = (id: string) => ['tenant', 'acme', 'type', 'order.created', 'data', '{}', 'id', id];
const jobIdsFor = (ids: string[]) => ids.flatMap((id) => [`acme.a.${id}`, `acme.b.${id}`]).sort();

describe('bridge killed with SIGKILL, default WSS_CONSUMER', () => {
  it("the next bridge takes over the dead one's pending batch at once (within 10 s of starting)", async () => {
    const env = defaultsEnv();
    const t = await seeded(env);
    // The first one reports not ready after 1 s of failed commits (its /readyz is checked too).
    const first = bridgeProcess({ ...env, WSS_BRIDGE_UNHEALTHY_AFTER_MS: '1000' });
    await first.waitForOutput(/bridge: started/);
    const healthUrl = /"url":"(http:[^"]+)","msg":"health server listening/.exec(
      await first.waitForOutput(/health server listening/),
    )![1]!;
    expect((await fetch(`${healthUrl}/readyz`)).status).toBe(200);

    // Redis out of memory: the bridge reads the batch but cannot commit it, so it holds the
    // batch (read, not acknowledged) when it is killed.
    const ids = Array.from({ length: 50 }, (_, i) => `k${i}`);
    await publishIntoFullRedis(t.ctx.redis, t.config.stream, ids.map(event));
    cleanups.push(() => freeMemory(redis().client()));
    await first.waitForOutput(/OOM/);
    await waitUntil('/readyz 503', async () => (await fetch(`${healthUrl}/readyz`)).status === 503);
    expect(await (await fetch(`${healthUrl}/readyz`)).text()).toMatch(/have failed for \d+ s.*OOM/);
    expect(await (await fetch(`${healthUrl}/metrics`)).text()).toMatch(/^wss_bridge_commit_failures_total [1-9]/m);
    const [dead] = await consumers(t);
    expect(dead).toMatchObject({ pending: ids.length });
    expect(await first.kill('SIGKILL')).toBe(null);
    await freeMemory(t.ctx.redis);

    const second = bridgeProcess(env);
    await second.waitForOutput(/bridge: started/);
    await waitUntil(
      "the dead bridge's batch enqueued and acknowledged",
      async () => (await pendingCount(t)) === 0,
      10_000,
    );
    expect(await allJobIds(t)).toEqual(jobIdsFor(ids));
    // Logs are buffered: the line may come a moment later.
    await second.waitForOutput(/claiming the pending entries of consumers with no connection/, 5_000);
    expect((await consumers(t)).find((c) => c.name === dead!.name)).toMatchObject({ pending: 0 });
  });
});

describe('poison pill: an entry every bridge dies on', () => {
  // Default consumer names: each restart takes the dead one's entries over (XCLAIM). A stable
  // WSS_CONSUMER: each restart re-reads its own pending entries (XREADGROUP from 0).
  it.each([
    ['default', {}],
    ['stable', { WSS_CONSUMER: 'bridge-0' }],
  ])(
    'is dead-lettered as poison and acknowledged after WSS_MAX_ENTRY_DELIVERIES (5) deliveries; the others go through (%s WSS_CONSUMER)',
    async (_name, extra) => {
      const env = { ...defaultsEnv(), ...extra };
      const t = await seeded(env);
      await t.ctx.redis.xgroup('CREATE', t.config.stream, t.config.group, '0', 'MKSTREAM');
      const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
      const entryIds: string[] = [];
      for (const id of ids) entryIds.push((await t.ctx.redis.xadd(t.config.stream, '*', ...event(id))) as string);
      const poisonEntry = entryIds[4]!;

      // Restarted after every death, as an orchestrator would; bounded.
      let deaths = 0;
      let child: ChildProcess | undefined;
      cleanups.push(async () => void child?.kill('SIGKILL'));
      const done = async () => (await pendingCount(t)) === 0 && (await deadLetters(t)).length > 0;
      while (!(await done())) {
        if (deaths > 8) throw new Error(`still dying after ${deaths} restarts`);
        const c = tracked(
          spawn(process.execPath, [CRASHING_BRIDGE], {
            env: childEnv({ ...env, CRASH_ON_EVENT: 'p4' }),
            stdio: 'ignore',
          }),
        );
        child = c;
        const exited = new Promise<NodeJS.Signals | null>((res) => c.once('exit', (_code, signal) => res(signal)));
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
      expect(dead[0]!.fields).toMatchObject({ entryId: poisonEntry, id: 'p4', tenant: 'acme' });
      expect(dead[0]!.fields['reason']).toMatch(/^poison: delivered 5 times without being acknowledged/);
      expect(await pendingCount(t)).toBe(0);
      expect(await allJobIds(t)).toEqual(jobIdsFor(ids.filter((id) => id !== 'p4')));
    },
  );
});
