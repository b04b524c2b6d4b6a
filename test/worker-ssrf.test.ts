// The SSRF guard, with WSS_ALLOW_PRIVATE_URLS=false: literal private IPs are refused before
// any socket exists, names are refused when any address they resolve to is private.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryError } from '../src/lib/errors.js';
import { createHttpSender } from '../src/workers/http.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { endpoint, sleep, useWorkerTest } from './helpers/worker-context.js';

const { harness } = useWorkerTest();
let rx: Receiver;

beforeAll(async () => {
  rx = await startReceiver();
});
afterAll(async () => {
  await rx.close();
});

async function refusal(url: string, allowPrivateUrls = false): Promise<DeliveryError> {
  const http = createHttpSender({ allowPrivateUrls });
  try {
    await http.post({ url, headers: {}, body: '{}', timeoutMs: 1_000 });
  } catch (err) {
    if (err instanceof DeliveryError) return err;
    throw err;
  } finally {
    await http.close();
  }
  throw new Error(`${url} was not refused`);
}

describe('SSRF guard', () => {
  it('refuses private URLs permanently in the worker; the receiver gets nothing', async () => {
    const h = await harness({ WSS_ALLOW_PRIVATE_URLS: 'false' });
    await h.seed([
      endpoint('loopback', `http://127.0.0.1:${rx.port}/`, { retry: { attempts: 3, backoffMs: 20 } }),
      endpoint('metadata', 'http://169.254.169.254/latest/meta-data/', {
        timeoutMs: 500,
        retry: { attempts: 3, backoffMs: 20 },
      }),
      endpoint('by-name', `http://localhost:${rx.port}/`, { retry: { attempts: 3, backoffMs: 20 } }),
    ]);
    const jobs = await Promise.all(['loopback', 'metadata', 'by-name'].map((e) => h!.enqueue(e)));
    await h.startWorker();
    const [loop, meta, byName] = await Promise.all(jobs.map((j) => h!.waitForState(j.jobId, 'failed')));
    expect(loop!.failedReason).toBe(
      'URL_REFUSED: refused: 127.0.0.1 is loopback (set WSS_ALLOW_PRIVATE_URLS=true to allow)',
    );
    // Refused from the literal itself (a connect attempt would have timed out and been retried).
    expect(meta!.failedReason).toBe(
      'URL_REFUSED: refused: 169.254.169.254 is link-local (cloud metadata) (set WSS_ALLOW_PRIVATE_URLS=true to allow)',
    );
    // A name is refused at connect time, from what it resolved to.
    expect(byName!.failedReason).toMatch(/^URL_REFUSED: refused: localhost \((127\.0\.0\.1|::1)\) is loopback/);
    for (const j of [loop!, meta!, byName!]) expect(j.attemptsMade).toBe(1);
    await sleep(200);
    expect(rx.requests).toHaveLength(0);
  });

  it('refuses IPv6 loopback and IPv4-mapped forms before connecting', async () => {
    for (const host of [
      '[::1]',
      '[::ffff:127.0.0.1]',
      '[::ffff:7f00:1]',
      '[::]',
      '0.0.0.0',
      '10.0.0.1',
      '192.168.1.1',
    ]) {
      const err = await refusal(`http://${host}:${rx.port}/`);
      expect(err.code, host).toBe('URL_REFUSED');
      expect(err.outcome).toBe('failed');
      expect(err.message).toMatch(/^refused: .* is .*WSS_ALLOW_PRIVATE_URLS=true/);
    }
    expect(rx.requests).toHaveLength(0);
  });

  it('lets the same URLs through when private URLs are allowed', async () => {
    const http = createHttpSender({ allowPrivateUrls: true });
    try {
      const a = await http.post({ url: `http://127.0.0.1:${rx.port}/a`, headers: {}, body: '{}', timeoutMs: 1_000 });
      const b = await http
        .post({ url: `http://localhost:${rx.port}/b`, headers: {}, body: '{}', timeoutMs: 1_000 })
        .catch((e: unknown) => e);
      expect(a.status).toBe(200);
      // localhost may resolve to ::1 first on some hosts, where the receiver does not listen.
      if (!(b instanceof DeliveryError)) expect((b as { status: number }).status).toBe(200);
      else expect(b.code).toBe('NETWORK');
    } finally {
      await http.close();
    }
    expect(rx.requests.map((r) => r.path)).toContain('/a');
    rx.requests.length = 0;
  });
});
