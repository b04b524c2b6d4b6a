// The fair-share planner (pure) and its state in a real Redis: start tags per flow, the cost of
// a tenant's busy endpoints, the priority classes, BullMQ's priority range and the rebase that
// keeps the queue inside it.
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { deliveryJob, type BulkJob, type DeliveryJobData } from '../src/queue/job.js';
import { QUEUE_NAME } from './helpers/legacy-queue.js';
import {
  assignPriorities,
  flowField,
  PRIORITY_LIMIT,
  toPriority,
  virtualTime,
  type FairState,
} from '../src/queue/fair-share.js';
import { fairKeys, readFairState, rebase, writeFairState } from '../src/queue/fair-state.js';
import { createRedis } from '../src/redis/client.js';
import { createLogger } from '../src/lib/log.js';
import { useTestRedis } from './helpers/redis-server.js';

const { redis, cleanups } = useTestRedis();

const KEEP = { dedupTtlMs: 60_000, keepCompleted: { count: 10, age: 60 } };
let n = 0;
function job(tenant: string, endpoint: string, priority: 'high' | 'normal' | 'low' = 'normal'): BulkJob {
  const id = `e${++n}`;
  return deliveryJob(
    { id, tenant, type: 't', createdAtMs: 0, priority },
    { endpoint, body: '{}', retry: { attempts: 1, backoffMs: 10 } },
    KEEP,
  );
}
const state = (vt: number, tags: Record<string, number> = {}, base = 0): FairState => ({
  vt,
  base,
  tags: new Map(Object.entries(tags)),
});
const prio = (jobs: BulkJob[]) => jobs.map((j) => j.opts.priority);
const one = (e: string) => () => [e];

describe('assignPriorities', () => {
  it('gives a flow consecutive tags and an idle flow the virtual time, however long the other backlog', () => {
    const backlog = assignPriorities(
      Array.from({ length: 5 }, () => job('big', 'hook')),
      state(0),
      one('hook'),
    );
    expect(prio(backlog.jobs)).toEqual([1, 2, 3, 4, 5]);
    expect(backlog.tags.get('big/hook')).toBe(5);
    // Next batch: big still has 20,000 queued; small is idle.
    const next = assignPriorities(
      [job('big', 'hook'), job('small', 'hook')],
      state(10, { 'big/hook': 20_000 }),
      one('hook'),
    );
    expect(prio(next.jobs)).toEqual([20_001, 11]);
  });

  it("charges each job the number of its tenant's busy endpoints", () => {
    const eps = () => ['x', 'y', 'z'];
    // x is busy (tag ahead of vt), y gets jobs now, z is idle: cost 2.
    const p = assignPriorities(
      [job('acme', 'y'), job('acme', 'y')],
      state(100, { 'acme/x': 5_000, 'acme/z': 50 }),
      eps,
    );
    expect(prio(p.jobs)).toEqual([101, 103]);
    expect(p.tags.get('acme/y')).toBe(104);
  });

  it('puts high ahead of the flow, charged to its share, and low behind its queued normal jobs', () => {
    const p = assignPriorities(
      [job('acme', 'hook', 'high'), job('acme', 'hook', 'low'), job('acme', 'hook')],
      state(10, { 'acme/hook': 500 }),
      one('hook'),
    );
    expect(prio(p.jobs)).toEqual([11, 502, 502]);
    // The high job moved the flow's own tag on: the tenant's share is not enlarged.
    expect(p.tags.get('acme/hook')).toBe(502);
    expect(p.tags.get('acme/hook/h')).toBe(11);
    expect(p.tags.get('acme/hook/l')).toBe(502);
    expect(p.jobs.map((j) => j.data.priority)).toEqual(['high', 'low', undefined]);
  });

  it("stays inside BullMQ's priority range", () => {
    expect(toPriority(0, 0)).toBe(1);
    expect(toPriority(5, 10)).toBe(1);
    expect(toPriority(10 ** 9, 0)).toBe(PRIORITY_LIMIT);
    expect(toPriority(1_000_010, 1_000_000)).toBe(11);
    expect(virtualTime(7, 0, undefined)).toBe(7);
    expect(virtualTime(7, 100, 20 * 2 ** 32 + 5)).toBe(119);
    expect(virtualTime(500, 100, 20 * 2 ** 32 + 5)).toBe(500);
  });
});

describe('fair-share state in Redis', () => {
  async function setup() {
    const conn = createRedis(redis().url, 'fair', createLogger('silent'));
    const prefix = `fs${++n}`;
    const queue = new Queue<DeliveryJobData>(QUEUE_NAME, { connection: conn, prefix });
    cleanups.push(async () => {
      await queue.close();
      conn.disconnect();
    });
    return { conn, keys: fairKeys(prefix, QUEUE_NAME), queue };
  }

  it('reads the virtual time from the head of the queue and max-merges the tags it writes', async () => {
    const { conn, keys, queue } = await setup();
    const plan = assignPriorities([job('a', 'h'), job('a', 'h'), job('a', 'h')], state(0), one('h'));
    await queue.addBulk(plan.jobs);
    await writeFairState(conn, keys, plan);
    const s = await readFairState(conn, keys, [flowField('a', 'h'), flowField('b', 'h')]);
    expect(s.vt).toBe(0);
    expect(s.tags.get('a/h')).toBe(3);
    expect(s.tags.has('b/h')).toBe(false);
    // A bridge that read older state cannot move a tag back.
    await writeFairState(conn, keys, { ...plan, jobs: [], tags: new Map([['a/h', 1]]) });
    expect((await readFairState(conn, keys, ['a/h'])).tags.get('a/h')).toBe(3);
    // The first job is taken: the head, and so the virtual time, moves on.
    await queue.remove(plan.jobs[0]!.opts.jobId);
    expect((await readFairState(conn, keys, [])).vt).toBe(1);
  });

  it("rebases near the limit: every queued job's priority moves down, their order is kept", async () => {
    const { conn, keys, queue } = await setup();
    const s = state(1_000, { 'a/h': 1_000, 'b/h': 1_000 });
    const plan = assignPriorities([job('a', 'h'), job('b', 'h'), job('a', 'h'), job('b', 'h')], s, one('h'));
    expect(prio(plan.jobs)).toEqual([1_001, 1_001, 1_002, 1_002]);
    await queue.addBulk(plan.jobs);
    // A delayed job (a retry waiting out its backoff) keeps its priority in its hash.
    const delayed = assignPriorities([job('c', 'h')], s, one('h')).jobs[0]!;
    await queue.add(delayed.name, delayed.data, { ...delayed.opts, delay: 60_000 });
    const order = async () => (await queue.getJobs(['prioritized'], 0, -1, true)).map((j) => j.id);
    const before = await order();
    // Not yet: the head's priority is under the threshold.
    expect(await writeFairState(conn, keys, plan, 5_000)).toBe(0);
    const shift = await writeFairState(conn, keys, plan, 1_000);
    expect(shift).toBe(1_000);
    expect(await order()).toEqual(before);
    const jobs = await queue.getJobs(['prioritized', 'delayed']);
    expect(jobs.map((j) => [j.id, j.priority]).sort()).toEqual(
      [...plan.jobs.map((j) => [j.opts.jobId, j.opts.priority! - 1_000]), [delayed.opts.jobId, 1]].sort() as Array<
        [string, number]
      >,
    );
    // New jobs are planned against the new base and land in the same order as before.
    const after = await readFairState(conn, keys, ['a/h']);
    expect(after.base).toBe(1_000);
    const next = assignPriorities([job('a', 'h')], after, one('h'));
    expect(next.jobs[0]!.opts.priority).toBe(3);
    // Done: a second rebase finds the head back at the bottom of the range.
    expect(await rebase(conn, keys, 1_000)).toBe(0);
  });

  it('moves a batch planned against the old base down when another bridge rebased meanwhile', async () => {
    const { conn, keys, queue } = await setup();
    const plan = assignPriorities([job('a', 'h'), job('a', 'h')], state(700), one('h'));
    expect(prio(plan.jobs)).toEqual([701, 702]);
    await queue.addBulk(plan.jobs);
    await conn.hset(keys.clock, 'base', 500);
    await writeFairState(conn, keys, plan);
    const jobs = await queue.getJobs(['prioritized'], 0, -1, true);
    expect(jobs.map((j) => j.priority)).toEqual([201, 202]);
  });
});
