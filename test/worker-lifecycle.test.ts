// Worker processes come and go: a killed worker's job is recovered by the stalled check, a
// stopped worker finishes or hands back what it holds.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { endpoint, pythonSignature, SECRET, sleep, type Harness, useWorkerTest } from './helpers/worker-context.js';
import { tracked } from './helpers/children.js';

// The built CLI (`npm test` builds first through pretest).
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const { redis, harness, receiver } = useWorkerTest();
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** Starts `wss start --role worker` from dist/ and resolves once its BullMQ worker is registered. */
async function spawnWorker(h: Harness, env: Record<string, string>): Promise<ChildProcess> {
  const proc = tracked(
    spawn(process.execPath, [CLI, 'start', '--role', 'worker'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const deadline = Date.now() + 15_000;
  while ((await h.queue.getWorkersCount()) === 0) {
    if (proc.exitCode !== null)
      throw new Error(`worker child exited with ${proc.exitCode} (did \`npm run build\` run?): ${stderr}`);
    if (Date.now() > deadline) throw new Error(`worker child did not register within 15 s: ${stderr}`);
    await sleep(50);
  }
  return proc;
}

describe('worker lifecycle', () => {
  it('a worker killed mid-delivery: the stalled job is retried by another worker and delivered', async () => {
    // The first request is held open until the connection dies; later ones succeed.
    const rx = await receiver((_req, i) => (i === 0 ? { status: 200, delayMs: 20_000 } : { status: 200 }));
    const h = await harness({ WSS_STALLED_INTERVAL_MS: '1000' });
    await h.seed([endpoint('orders', rx.url, { timeoutMs: 15_000 })]);
    child = await spawnWorker(h, {
      REDIS_URL: redis().url,
      WSS_HEALTH_PORT: '0',
      WSS_PREFIX: h.prefix,
      WSS_ALLOW_PRIVATE_URLS: 'true',
      WSS_STALLED_INTERVAL_MS: '1000',
      // The dead worker's lock lapses after 1 s (default 30 s).
      WSS_LOCK_DURATION_MS: '1000',
      LOG_LEVEL: 'silent',
    });
    const { jobId, data } = await h.enqueue('orders');
    await rx.waitFor(1);
    expect(await (await h.queue.getJob(jobId))!.getState()).toBe('active');

    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    await h.startWorker();
    const job = await h.waitForState(jobId, 'completed', 30_000);
    expect(rx.requests).toHaveLength(2);
    expect(rx.requests.map((r) => r.headers['x-wss-event-id'])).toEqual([data.eventId, data.eventId]);
    const second = rx.requests[1]!;
    expect(second.body).toBe(data.body);
    expect(second.headers['x-wss-signature']).toBe(
      pythonSignature(SECRET, String(second.headers['x-wss-timestamp']), second.body),
    );
    expect(job.returnvalue).toMatchObject({ status: 200 });
  });

  it('stop() waits for an in-flight delivery to finish within the grace period', async () => {
    const rx = await receiver(() => ({ status: 200, delayMs: 500 }));
    const h = await harness({ WSS_SHUTDOWN_GRACE_MS: '5000' });
    await h.seed([endpoint('orders', rx.url)]);
    const { jobId } = await h.enqueue('orders');
    const w = await h.startWorker();
    expect((await w.ready()).ok).toBe(true);
    await rx.waitFor(1);
    await w.stop();
    expect(await (await h.queue.getJob(jobId))!.getState()).toBe('completed');
    expect((await w.ready()).ok).toBe(false);
  });

  it('stop() past the grace period aborts the request and hands the job back without using an attempt', async () => {
    const rx = await receiver((_req, i) => (i === 0 ? { status: 200, delayMs: 20_000 } : { status: 200 }));
    const h = await harness({ WSS_SHUTDOWN_GRACE_MS: '300' });
    await h.seed([endpoint('orders', rx.url, { timeoutMs: 15_000 })]);
    const { jobId } = await h.enqueue('orders');
    const w = await h.startWorker();
    await rx.waitFor(1);
    await w.stop();
    const held = (await h.queue.getJob(jobId))!;
    expect(['delayed', 'waiting']).toContain(await held.getState());
    expect(held.attemptsMade).toBe(0);

    await h.startWorker();
    const job = await h.waitForState(jobId, 'completed');
    expect(rx.requests).toHaveLength(2);
    expect(rx.requests[1]!.headers['x-wss-attempt']).toBe('1');
    expect(job.returnvalue).toMatchObject({ status: 200, attempt: 1 });
  });
});
