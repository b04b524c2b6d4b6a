// `wss seed` says what it changed per endpoint, and does not undo a rotation unseen: seeding a
// file whose secret is not the stored one is refused (nothing written) unless --force. Before,
// seeding the original file after `wss rotate-secret` brought the old secret back and printed
// only "seeded" (issue 18, item 8). Real child processes, a real Redis, an in-process worker
// signing real deliveries to a receiver on 127.0.0.1.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifySignature } from '../src/verify/index.js';
import { TENANT, useWorkerTest, type Harness } from './helpers/worker-context.js';
import { runWss } from './helpers/wss-process.js';
import type { Receiver } from './helpers/receiver.js';

const { redis, harness, receiver } = useWorkerTest();
const dir = mkdtempSync(join(tmpdir(), 'wss-cli-seed-'));
const OLD = 'seed-old-secret-0123456789';
const NEW = 'seed-new-secret-9876543210';

function file(name: string, endpoints: Array<Record<string, unknown>>, tenant = TENANT): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify({ tenants: [{ id: tenant, endpoints }] }));
  return p;
}

/** The secrets the last request to `path` verifies with, out of `candidates`. */
async function signedWith(h: Harness, rx: Receiver, path: string, candidates: string[]): Promise<string[]> {
  // The worker's registry polls every 100 ms: bring it up to date with the CLI's write first.
  await h.registry.refresh();
  const job = await h.enqueue('orders');
  await h.waitForState(job.jobId, 'completed');
  const last = rx.requests.filter((r) => r.path === path).at(-1)!;
  const d = {
    body: last.body,
    timestamp: String(last.headers['x-wss-timestamp']),
    signature: String(last.headers['x-wss-signature']),
  };
  return candidates.filter((secret) => {
    try {
      return verifySignature({ secret, ...d });
    } catch {
      return false;
    }
  });
}

describe('wss seed', () => {
  it('after rotate-secret, seeding the old file is refused and changes nothing; --force replaces the secret and says so', async () => {
    const rx = await receiver(() => ({ status: 204 }));
    const h = await harness();
    const env = { REDIS_URL: redis().url, WSS_PREFIX: h.prefix, WSS_ALLOW_PRIVATE_URLS: 'true' };
    const orders = { id: 'orders', url: `${rx.url}/orders`, secret: OLD, retry: { attempts: 3, backoffMs: 100 } };
    const original = file('original.json', [orders]);

    const first = runWss(['seed', original], env);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe(
      `created ${TENANT}/orders\nseeded 1 tenant(s), 1 endpoint(s): 1 created, 0 updated, 0 unchanged\n`,
    );
    await h.startWorker();
    expect(await signedWith(h, rx, '/orders', [OLD, NEW])).toEqual([OLD]);

    const rot = runWss(
      ['rotate-secret', '--tenant', TENANT, '--endpoint', 'orders', '--secret', NEW, '--overlap', '0s'],
      env,
    );
    expect(rot.status, rot.stderr).toBe(0);
    expect(await signedWith(h, rx, '/orders', [OLD, NEW])).toEqual([NEW]);

    // The original file again: refused, naming the endpoint, and the rotated secret stays.
    const again = runWss(['seed', original], env);
    expect(again.status).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(
      `wss: nothing seeded: the file's secret differs from the stored one of ${TENANT}/orders`,
    );
    expect(again.stderr).toContain('--force');
    expect(again.stderr).not.toContain(OLD);
    expect(again.stderr).not.toContain(NEW);
    expect(await signedWith(h, rx, '/orders', [OLD, NEW])).toEqual([NEW]);

    // A file updated to the current secret seeds, and says exactly which field changed.
    const moved = file('moved.json', [{ ...orders, secret: NEW, timeoutMs: 5_000 }]);
    const upd = runWss(['seed', moved], env);
    expect(upd.stderr).toBe('');
    expect(upd.stdout).toBe(
      `updated ${TENANT}/orders: timeoutMs\nseeded 1 tenant(s), 1 endpoint(s): 0 created, 1 updated, 0 unchanged\n`,
    );
    expect(runWss(['seed', moved], env).stdout).toContain(': 0 created, 0 updated, 1 unchanged');

    // --force puts the file's secret back, and the report says the secret was replaced.
    const forced = runWss(['seed', '--force', original], env);
    expect(forced.stderr).toBe('');
    expect(forced.stdout).toBe(
      `updated ${TENANT}/orders: timeoutMs; secret replaced\nseeded 1 tenant(s), 1 endpoint(s): 0 created, 1 updated, 0 unchanged\n`,
    );
    expect(await signedWith(h, rx, '/orders', [OLD, NEW])).toEqual([OLD]);
  });

  it('a rotation with overlap keeps its previous secret when the file is updated to the new one; --replace lists what it removes', async () => {
    const h = await harness();
    const env = { REDIS_URL: redis().url, WSS_PREFIX: h.prefix };
    const ep = (id: string, secret: string) => ({ id, url: `https://hooks.example/${id}`, secret });
    expect(runWss(['seed', file('two.json', [ep('orders', OLD), ep('audit', OLD)])], env).status).toBe(0);
    expect(
      runWss(['rotate-secret', '--tenant', TENANT, '--endpoint', 'orders', '--secret', NEW, '--overlap', '1h'], env)
        .status,
    ).toBe(0);
    const r = runWss(['seed', '--replace', file('one.json', [ep('orders', NEW)])], env);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `removed ${TENANT}/audit\nseeded 1 tenant(s), 1 endpoint(s) (registry replaced): 0 created, 0 updated, 1 unchanged, 1 removed\n`,
    );
    const stored = JSON.parse((await redis().client().hget(`${h.prefix}:{registry}:endpoints`, `${TENANT}/orders`))!);
    expect(stored.secret).toBe(NEW);
    expect(stored.previousSecrets).toEqual([{ secret: OLD, expiresAt: expect.any(String) }]);
  });

  it("a filter that does not compile is refused naming jsonata's message and position, not [object Object]", () => {
    const bad = file('bad-jsonata.json', [
      { id: 'orders', url: 'https://hooks.example/o', secret: OLD, filter: 'data.status = ' },
    ]);
    const r = runWss(['seed', bad], { REDIS_URL: redis().url, WSS_PREFIX: 'seed-jsonata' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `tenant "${TENANT}" endpoint "orders" field "filter": invalid jsonata: Unexpected end of expression (S0207 at position 14)`,
    );
  });
});
