// The worker's SSRF guard against this host's own interface addresses and a documentation range
// (issue 18): a real server listening on every interface, a real worker with
// WSS_ALLOW_PRIVATE_URLS=false; each delivery fails at once (URL_REFUSED, one attempt) and the
// server is never reached. (The rules' known answers: worker-ssrf-ranges.test.ts.)
import { createServer, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoint, sleep, useWorkerTest } from './helpers/worker-context.js';

const { harness } = useWorkerTest();
let server: Server;
let port = 0;
const hits: string[] = [];

beforeAll(async () => {
  // Listens on every interface, as a dashboard or a Redis might: what an own-address URL reaches.
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('the worker', () => {
  it("refuses a documentation address and this host's interface addresses before connecting", async () => {
    const mine = Object.values(networkInterfaces())
      .flatMap((l) => l ?? [])
      .filter((a) => a.family === 'IPv4' && !a.internal)
      .map((a) => a.address);
    expect(mine.length, 'this host has no non-loopback IPv4 address to test with').toBeGreaterThan(0);
    const h = await harness({ WSS_ALLOW_PRIVATE_URLS: 'false' });
    const retry = { retry: { attempts: 3, backoffMs: 20 }, timeoutMs: 1_000 };
    await h.seed([
      endpoint('doc', `http://198.51.100.7:${port}/doc`, retry),
      ...mine.map((ip, i) => endpoint(`own${i}`, `http://${ip}:${port}/own${i}`, retry)),
    ]);
    const jobs = await Promise.all(['doc', ...mine.map((_, i) => `own${i}`)].map((e) => h.enqueue(e)));
    await h.startWorker();
    const failed = await Promise.all(jobs.map((j) => h.waitForState(j.jobId, 'failed')));
    expect(failed[0]!.failedReason).toBe(
      'URL_REFUSED: refused: 198.51.100.7 is documentation (TEST-NET-2) (set WSS_ALLOW_PRIVATE_URLS=true to allow)',
    );
    for (const [i, j] of failed.slice(1).entries()) {
      expect(j.failedReason).toMatch(new RegExp(`^URL_REFUSED: refused: ${mine[i]!.replaceAll('.', '\\.')} is `));
      expect(j.attemptsMade).toBe(1);
    }
    await sleep(200);
    expect(hits).toEqual([]);
  });
});
