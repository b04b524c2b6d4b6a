// Recover by event id matches that event exactly (issue 18): `evt-1` recovers evt-1's delivery
// and the deliveries of evt-1's replays (`….evt-1.r<replay id>`), never those of another event
// whose id merely starts the same way (`evt-1.rother`, `evt-10`). Real Redis, a real worker and
// receiver, the built CLI.
import { describe, expect, it } from 'vitest';
import { JOB_NAME, deliveryJobOptions, replayJobId } from '../src/queue/job.js';
import { TENANT, endpoint, useWorkerTest } from './helpers/worker-context.js';
import { runWss } from './helpers/wss-process.js';

const { redis, harness, receiver } = useWorkerTest();

describe('wss recover --event-id', () => {
  it('recovers the event and its replays only, not events whose ids share its prefix', async () => {
    const rx = await receiver(() => ({ status: 422 }));
    const h = await harness();
    await h.seed([endpoint('orders', `${rx.url}/orders`, { retry: { attempts: 1, backoffMs: 100 } })]);
    await h.startWorker();
    const jobs = [];
    for (const eventId of ['evt-1', 'evt-1.rother', 'evt-10'])
      jobs.push((await h.enqueue('orders', { eventId })).jobId);
    // A replay of evt-1, as src/replay/replay.ts queues it.
    const replayId = replayJobId('evt-1', TENANT, 'orders', 'abc123');
    const first = (await h.queue.getJob(jobs[0]!))!;
    await h.queue.add(
      JOB_NAME,
      { ...first.data, replay: true },
      deliveryJobOptions(replayId, { attempts: 1, backoffMs: 100 }, h.config),
    );
    jobs.push(replayId);
    for (const id of jobs) await h.waitForState(id, 'failed');

    const env = { REDIS_URL: redis().url, WSS_PREFIX: h.prefix };
    const dry = runWss(
      ['recover', '--tenant', TENANT, '--endpoint', 'orders', '--event-id', 'evt-1', '--dry-run', '--json'],
      env,
    );
    expect(dry.status, dry.stderr).toBe(0);
    const out = JSON.parse(dry.stdout) as { failed: number; jobIds: string[] };
    expect(out.jobIds.sort()).toEqual([`${TENANT}.orders.evt-1`, replayId].sort());
    expect(out.failed).toBe(2);
  });
});
