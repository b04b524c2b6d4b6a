// TLS (`rediss://`) and authentication against real TLS-only redis-servers (no plain-text port),
// with the real CLI: a single Redis (password of the default user, and an ACL user) and a
// 3-master Redis Cluster whose bus and replication run over TLS too. The service trusts the
// throwaway CA only through Node's own NODE_EXTRA_CA_CERTS, as a user with a private CA would.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterEnv } from './helpers/cluster-service.js';
import { startReceiver, type Received, type Receiver } from './helpers/receiver.js';
import { useTestCluster } from './helpers/redis-cluster.js';
import { freePort, spawnRedisServer, waitForPing } from './helpers/redis-server.js';
import { makeTestCerts, tlsServerArgs } from './helpers/tls-certs.js';
import { runWss, serviceEnv, spawnWss, type WssProcess } from './helpers/wss-process.js';

const certs = makeTestCerts();
const dir = mkdtempSync(join(tmpdir(), 'wss-redis-tls-'));
const SECRET = 'tls-e2e-secret-0123456789';
// Reserved URL characters in both: they must be percent-encoded in the URL and decoded for AUTH.
const PASSWORD = 'p@ss:w/rd-0123';
const ALICE_PASSWORD = 'alice#pw-4567';
const children: WssProcess[] = [];
const receivers: Receiver[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) await c.kill('SIGKILL');
  for (const r of receivers.splice(0)) await r.close();
});
afterAll(() => {
  certs.close();
  rmSync(dir, { recursive: true, force: true });
});

function expectSigned(req: Received): void {
  const ts = String(req.headers['x-wss-timestamp']);
  expect(ts).toMatch(/^\d+$/);
  expect(req.headers['x-wss-signature']).toBe(
    createHmac('sha256', SECRET)
      .update(ts + req.body)
      .digest('hex'),
  );
}

/**
 * seed → start → publish through the CLI (seed and publish with `cliEnv`, the service with
 * `env`); the receiver gets one signed delivery, and no output shows a password.
 */
async function deliversSigned(
  name: string,
  env: Record<string, string>,
  secrets: string[],
  cliEnv: Record<string, string> = env,
): Promise<void> {
  const rx = await startReceiver();
  receivers.push(rx);
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ tenants: [{ id: 'acme', endpoints: [{ id: 'ep', url: `${rx.url}/ep`, secret: SECRET }] }] }),
  );
  const quiet = { ...cliEnv, LOG_LEVEL: 'warn' };
  const seeded = runWss(['seed', file], quiet);
  expect(seeded.stderr).toBe('');
  expect(seeded.stdout).toContain('seeded 1 tenant(s), 1 endpoint(s)');

  const service = spawnWss(['start', '--role', 'bridge', '--role', 'worker'], env);
  children.push(service);
  await service.waitForOutput(/webhook-sender started/, 30_000);
  const published = runWss(
    ['publish', '--tenant', 'acme', '--type', 'order.created', '--data', '{"n":1}', '--id', 'evt_tls'],
    quiet,
  );
  expect(published.stderr).toBe('');
  expect(published.stdout).toMatch(/^\d+-\d+\n$/);

  await rx.waitFor(1, 20_000);
  expect(rx.requests).toHaveLength(1);
  expect(rx.requests[0]!.path).toBe('/ep');
  expect(JSON.parse(rx.requests[0]!.body)).toMatchObject({ id: 'evt_tls', tenant: 'acme', data: { n: 1 } });
  expectSigned(rx.requests[0]!);
  // The logs name the target with its password masked.
  expect(service.output()).toMatch(/"redis":"(rediss:\/\/[^"]*\*\*\*@127\.0\.0\.1|cluster rediss:\/\/127\.0\.0\.1)/);
  for (const s of [...secrets, encodeURIComponent(secrets[0]!)]) {
    expect(service.output()).not.toContain(s);
    expect(seeded.stdout + published.stdout).not.toContain(s);
  }
}

/** `wss start` and `wss publish` exit 1 at once with one line matching `message`, no secret in it. */
function refused(env: Record<string, string>, message: RegExp, secrets: string[]): void {
  for (const args of [
    ['start', '--role', 'bridge', '--role', 'worker'],
    ['publish', '--tenant', 'acme', '--type', 't', '--data', '{}'],
  ]) {
    const r = runWss(args, { ...env, LOG_LEVEL: 'error' });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim()).toMatch(message);
    for (const s of [...secrets, encodeURIComponent(secrets[0]!)]) expect(r.stdout + r.stderr).not.toContain(s);
  }
}

describe('a single TLS-only Redis with auth (REDIS_URL=rediss://…)', () => {
  let port = 0;
  let server: ChildProcess | undefined;
  const serverDir = mkdtempSync(join(tmpdir(), 'wss-test-redis-tls-'));
  beforeAll(async () => {
    port = await freePort();
    server = spawnRedisServer(port, serverDir, [
      ...tlsServerArgs(certs, port),
      '--requirepass',
      PASSWORD,
      // An ACL user besides the default one (redis.conf's `user` line, word by word).
      '--user',
      'alice',
      'on',
      `>${ALICE_PASSWORD}`,
      '~*',
      '&*',
      '+@all',
    ]);
    await waitForPing(port, server, { tls: { ca: certs.ca }, password: PASSWORD });
  });
  afterAll(async () => {
    const p = server;
    if (p && p.exitCode === null && p.signalCode === null)
      await new Promise<void>((res) => {
        p.once('exit', () => res());
        p.kill('SIGKILL');
      });
    rmSync(serverDir, { recursive: true, force: true });
  });
  const url = (auth: string) => `rediss://${auth}@127.0.0.1:${port}`;
  const env = (auth: string, name: string) =>
    serviceEnv(url(auth), name, { WSS_HEALTH_PORT: '0', WSS_BLOCK_MS: '200', NODE_EXTRA_CA_CERTS: certs.caFile });

  it('the default user with a password: seed, start, publish → a signed delivery', async () => {
    await deliversSigned('single', env(`:${encodeURIComponent(PASSWORD)}`, 'single'), [PASSWORD]);
  }, 60_000);

  it('an ACL user with a password: seed, start, publish → a signed delivery', async () => {
    await deliversSigned('alice', env(`alice:${encodeURIComponent(ALICE_PASSWORD)}`, 'alice'), [ALICE_PASSWORD]);
  }, 60_000);

  it('a wrong password, or a CA not trusted, stops start-up and publish with a clear error', () => {
    const wrong = 'not-the-password-9876';
    refused(
      env(`alice:${wrong}`, 'wrong'),
      /^wss: Redis refused the credentials: WRONGPASS .*\(REDIS_URL: rediss:\/\/alice:\*\*\*@127\.0\.0\.1:\d+\)$/,
      [wrong],
    );
    const { NODE_EXTRA_CA_CERTS: _, ...untrusted } = env(`:${encodeURIComponent(PASSWORD)}`, 'untrusted');
    refused(
      untrusted,
      /^wss: the Redis server's TLS certificate was not accepted \(self-signed certificate in certificate chain\); for a private CA set NODE_EXTRA_CA_CERTS/,
      [PASSWORD],
    );
  }, 30_000);
});

describe('a TLS-only Redis Cluster with a password (REDIS_CLUSTER_NODES=rediss://…)', () => {
  const cluster = useTestCluster({ masters: 3, tls: certs, password: PASSWORD });

  it('WSS_SHARDS=3: seed and publish through one seed node → a signed delivery', async () => {
    const c = cluster();
    const name = 'tlscluster';
    const env = clusterEnv(c, name, { NODE_EXTRA_CA_CERTS: certs.caFile });
    expect(env['REDIS_CLUSTER_NODES']).toMatch(/^rediss:\/\/:p%40ss%3Aw%2Frd-0123@127\.0\.0\.1:\d+,rediss:/);
    // The CLI commands know one seed only: the rest of the cluster is discovered over TLS.
    const one = clusterEnv(c, name, { NODE_EXTRA_CA_CERTS: certs.caFile }, [c.nodes[0]!.port]);
    expect(one['REDIS_CLUSTER_NODES']!.split(',')).toHaveLength(1);
    await deliversSigned(name, env, [PASSWORD], one);
  }, 60_000);

  it('a wrong password, or a CA not trusted, stops start-up and publish with a clear error', () => {
    const env = clusterEnv(cluster(), 'refused', { NODE_EXTRA_CA_CERTS: certs.caFile });
    const wrong = 'not-the-password-9876';
    const wrongEnv = {
      ...env,
      REDIS_CLUSTER_NODES: env['REDIS_CLUSTER_NODES']!.replaceAll(/:[^:@/]+@/g, `:${wrong}@`),
    };
    refused(
      wrongEnv,
      /^wss: Redis refused the credentials: WRONGPASS .*\(REDIS_CLUSTER_NODES: cluster rediss:\/\/127\.0\.0\.1:\d+,/,
      [wrong],
    );
    const { NODE_EXTRA_CA_CERTS: _, ...untrusted } = env;
    refused(
      untrusted,
      /^wss: the Redis server's TLS certificate was not accepted \(self-signed certificate in certificate chain\)/,
      [PASSWORD],
    );
  }, 30_000);
});
