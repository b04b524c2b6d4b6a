// The PostgreSQL outbox under failure, against a private cluster the tests stop and restart:
// a bridge killed with SIGKILL between its Redis commit and its acknowledgement loses nothing
// and duplicates nothing; a row every bridge dies on is dead-lettered as poison after
// WSS_MAX_ENTRY_DELIVERIES (the attempts count survives the deaths); the database gone for 10 s
// (/readyz 503 naming it without the password, then 200, nothing lost, the LISTEN connection
// back); a claim lock held by a frozen bridge is reported, then let go; two bridges share the
// table, each row handled once and counted once.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../src/producers/bridge.js';
import { startWorker } from '../src/workers/worker.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import {
  allJobIds,
  deadLetters,
  endpoint,
  isolatedEnv,
  waitUntil,
  type TestCtx,
  useBridgeTest,
} from './helpers/bridge-context.js';
import { useTestPostgres } from './helpers/postgres.js';
import { initOutbox, insertCommitted, insertMany, outboxEnv, outboxRows, verifiedEventIds } from './helpers/outbox.js';
import { childEnv, spawnWss } from './helpers/wss-process.js';

const { redis, cleanups, context } = useBridgeTest();
const pgServer = useTestPostgres();
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const SECRET = 'secret-a-0123456789';

const tenants = (url = 'http://127.0.0.1:9') => ({
  tenants: [{ id: 'acme', endpoints: [endpoint('a', { url: `${url}/a` })] }],
});
const jobIdsFor = (ids: string[]) => ids.map((id) => `acme.a.${id}`).sort();
const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A fresh table (wss outbox init) and a seeded registry; env for child processes too. */
async function setup(
  extra: Record<string, string> = {},
  url?: string,
): Promise<{ env: Record<string, string>; table: string; t: TestCtx }> {
  const env: Record<string, string> = { ...isolatedEnv(), ...outboxEnv(pgServer(), extra), REDIS_URL: redis().url };
  initOutbox(env);
  const t = await context(env, tenants(url));
  return { env, table: env['WSS_OUTBOX_TABLE']!, t };
}

function child(script: string, env: Record<string, string>): { proc: ChildProcess; out: () => string } {
  const proc = spawn(process.execPath, [fixture(script)], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  cleanups.push(async () => void proc.kill('SIGKILL'));
  return { proc, out: () => out };
}

const exitSignal = (p: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((res) =>
    p.exitCode !== null || p.signalCode !== null ? res(p.signalCode) : p.once('exit', (_c, s) => res(s)),
  );

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}

async function bridge(t: TestCtx): Promise<RunningBridge> {
  const b = await startBridge(t.ctx);
  cleanups.push(() => b.stop());
  return b;
}

describe('postgres outbox: crashes and outages', () => {
  it('kill -9 after the Redis commit, before the acknowledgement: nothing lost, no job and no delivery twice', async () => {
    const rx = await receiver();
    const { env, table, t } = await setup({ WSS_BATCH_SIZE: '20' }, rx.url);
    const ids = range('c', 100);
    await insertMany(pgServer(), table, 100, 'c');
    const killed = child('bridge-killed-after-commit.mjs', env);
    expect(await exitSignal(killed.proc)).toBe('SIGKILL');
    const line = /^killed-after-commit: (.*)$/m.exec(killed.out())?.[1];
    expect(line, killed.out()).toBeDefined();
    const committed = JSON.parse(line!) as { entryIds: string[]; jobIds: string[] };
    expect(committed.jobIds).toHaveLength(20);
    // Its rows are all still there, the batch's 20 with one delivery counted.
    const before = await outboxRows(pgServer(), table);
    expect(before).toHaveLength(100);
    expect(before.filter((r) => r.attempts === 1).map((r) => `${table}#${r.row_id}`)).toEqual(committed.entryIds);
    expect(await allJobIds(t)).toEqual([...committed.jobIds].sort());

    await startWorker(t.ctx).then((w) => cleanups.push(() => w.stop()));
    const b = await bridge(t);
    await waitUntil('every row handled', async () => (await outboxRows(pgServer(), table)).length === 0, 30_000);
    await waitUntil('acknowledged', () => b.stats().entries === 100);
    expect(b.stats().claimed).toBe(20);
    expect(await allJobIds(t)).toEqual(jobIdsFor(ids));
    await rx.waitFor(100, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(verifiedEventIds(rx.requests, SECRET).sort()).toEqual([...ids].sort());
  });

  it('a row every bridge dies on is dead-lettered as poison after WSS_MAX_ENTRY_DELIVERIES (5) deaths; the others go through', async () => {
    const { env, table, t } = await setup();
    const ids = range('p', 10);
    const rowIds = await insertCommitted(
      pgServer(),
      table,
      ids.map((id) => ({ tenant: 'acme', type: 'order.created', data: {}, id })),
    );
    let deaths = 0;
    const done = async () => (await outboxRows(pgServer(), table)).length === 0;
    while (!(await done())) {
      if (deaths > 8) throw new Error(`still dying after ${deaths} restarts`);
      const c = child('crashing-bridge.mjs', { ...env, CRASH_ON_EVENT: 'p4' });
      const outcome = await Promise.race([
        exitSignal(c.proc),
        waitUntil('poison handled', done, 30_000).then(() => 'done' as const),
      ]);
      if (outcome === 'done') break;
      expect(outcome, c.out()).toBe('SIGKILL');
      deaths++;
    }
    expect(deaths).toBe(5);
    const dead = await deadLetters(t);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.fields).toMatchObject({ entryId: `${table}#${rowIds[4]}`, id: 'p4', tenant: 'acme' });
    expect(dead[0]!.fields['reason']).toMatch(/^poison: delivered 5 times without being acknowledged/);
    expect(await allJobIds(t)).toEqual(jobIdsFor(ids.filter((id) => id !== 'p4')));
  });

  it('the database gone for 10 s: /readyz 503 naming it (no password), then 200; nothing lost, nothing twice, LISTEN back', async () => {
    const rx = await receiver();
    // A minute between polls: rows inserted after the restart arrive only by NOTIFY.
    const { env, table, t } = await setup({ WSS_BATCH_SIZE: '10', WSS_OUTBOX_POLL_MS: '60000' }, rx.url);
    await startWorker(t.ctx).then((w) => cleanups.push(() => w.stop()));
    const p = spawnWss(['start', '--role', 'bridge'], { ...env, WSS_HEALTH_PORT: '0', LOG_LEVEL: 'info' });
    cleanups.push(async () => void (await p.kill('SIGKILL')));
    const out = await p.waitForOutput(/health server listening/);
    const health = /"url":"(http:[^"]+)","msg":"health server listening/.exec(out)![1]!;
    const readyz = async () => {
      const r = await fetch(`${health}/readyz`).catch((err: unknown) => {
        throw new Error(`${String(err)}; bridge output:\n${p.output()}`);
      });
      return { status: r.status, text: await r.text() };
    };
    await waitUntil('ready', async () => (await readyz()).status === 200);

    await insertMany(pgServer(), table, 300, 'o');
    await waitUntil('first jobs in Redis', async () => (await allJobIds(t)).length > 0, 20_000);
    await pgServer().stop();
    cleanups.push(() => pgServer().start());
    const stoppedAt = Date.now();
    await waitUntil('/readyz 503', async () => (await readyz()).status === 503, 15_000);
    const down = await readyz();
    expect(down.text).toMatch(/postgres postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres/);
    expect(down.text).not.toContain(pgServer().password);
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - stoppedAt))));
    expect((await readyz()).status).toBe(503);
    await pgServer().start();
    await waitUntil('/readyz 200 again', async () => (await readyz()).status === 200, 30_000);
    await waitUntil(
      'rows of before the outage handled',
      async () => (await outboxRows(pgServer(), table)).length === 0,
      30_000,
    );
    await insertMany(pgServer(), table, 20, 'after');
    await waitUntil(
      'rows of after the outage handled',
      async () => (await outboxRows(pgServer(), table)).length === 0,
      20_000,
    );

    const ids = [...range('o', 300), ...range('after', 20)];
    expect(await allJobIds(t)).toEqual(jobIdsFor(ids));
    await rx.waitFor(ids.length, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(verifiedEventIds(rx.requests, SECRET).sort()).toEqual([...ids].sort());
    expect(p.output()).not.toContain(pgServer().password);
    expect(p.output()).toMatch(/outbox LISTEN connection lost/);
  });

  it('a claim lock held by a frozen bridge: the others say so every 10 s, and go on once it is let go', async () => {
    const { table, t } = await setup();
    await insertCommitted(pgServer(), table, [{ tenant: 'acme', type: 'order.created', data: {}, id: 'f1' }]);
    // The stand-in for a bridge frozen between its two claim transactions.
    const frozen = await pgServer().client();
    await frozen.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`wss-outbox:${table}`]);
    const b = await bridge(t);
    await waitUntil(
      'the wait reported',
      () => t.logs.some((l) => /another bridge has held the claim lock of outbox \S+ for over 10 s/.test(l)),
      30_000,
    );
    expect(await allJobIds(t)).toEqual([]);
    await frozen.query('SELECT pg_advisory_unlock_all()');
    await waitUntil('row handled', async () => (await outboxRows(pgServer(), table)).length === 0, 20_000);
    expect(await allJobIds(t)).toEqual(['acme.a.f1']);
    expect(b.stats().entries).toBe(1);
  });

  it('two bridges share the table: each row handled by one of them, its delivery counted once', async () => {
    const { env, table } = await setup({ WSS_BATCH_SIZE: '25', WSS_OUTBOX_KEEP: 'true' });
    const t1 = await context(env);
    const t2 = await context({ ...env, WSS_CONSUMER: 'c2' });
    const [b1, b2] = [await bridge(t1), await bridge(t2)];
    for (let i = 0; i < 10; i++) await insertMany(pgServer(), table, 100, `s${i}-`);
    await waitUntil(
      'every row published',
      async () => (await outboxRows(pgServer(), table)).every((r) => r.published),
      30_000,
    );
    await waitUntil('acknowledged', () => b1.stats().entries + b2.stats().entries === 1_000);
    expect(b1.stats().entries).toBeGreaterThan(0);
    expect(b2.stats().entries).toBeGreaterThan(0);
    const rows = await outboxRows(pgServer(), table);
    expect(rows).toHaveLength(1_000);
    // One claim per row: competing claims never counted a delivery of rows another bridge took.
    expect(rows.filter((r) => r.attempts !== 1)).toEqual([]);
    const ids = Array.from({ length: 10 }, (_, i) => range(`s${i}-`, 100)).flat();
    expect(await allJobIds(t1)).toEqual(jobIdsFor(ids));
  });
});
