// A private nats-server with JetStream per test file, on a free port, its store in a temp dir:
// tests can stop it and start it again on the same port and store (an outage), and never touch
// the machine's NATS. Plus what the NATS suites share: an env per test (own stream, subjects,
// consumer, Redis keys), raw publishing and a look at the consumer.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type ConsumerInfo, type StreamInfo } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { RunningRole } from '../../src/roles.js';
import { freePort } from './redis-server.js';
import { endpoint, isolatedEnv, useBridgeTest, type BridgeTest, type TestCtx } from './bridge-context.js';

export interface TestNats {
  port: number;
  /** nats://127.0.0.1:<port>, with the credentials when the server has some. */
  url: string;
  dir: string;
  /** The running server's pid (undefined while stopped). */
  pid(): number | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

// Debian installs it in /usr/sbin, which a non-root PATH may lack.
const NATS_SERVER = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A nats-server on 127.0.0.1 (`--user`/`--pass` when `auth` is given), started and answering. */
export async function startNats(auth?: { user: string; pass: string }): Promise<TestNats> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wss-nats-'));
  let proc: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir];
    if (auth) args.push('--user', auth.user, '--pass', auth.pass);
    const p = spawn(NATS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    log = '';
    p.stdout!.on('data', (c: Buffer) => (log += c.toString()));
    p.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    const deadline = Date.now() + 15_000;
    while (!/Server is ready/.test(log) || !(await accepts(port))) {
      if (p.exitCode !== null) throw new Error(`nats-server on port ${port} exited with ${p.exitCode}:\n${log}`);
      if (Date.now() > deadline) throw new Error(`nats-server on port ${port} not ready within 15 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  await start();
  const creds = auth ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@` : '';
  return {
    port,
    url: `nats://${creds}127.0.0.1:${port}`,
    dir,
    pid: () => proc?.pid,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One private server for the file, killed (and its store removed) after it. */
export function useNats(auth?: { user: string; pass: string }): () => TestNats {
  let server: TestNats | undefined;
  beforeAll(async () => {
    server = await startNats(auth);
  }, 30_000);
  afterAll(async () => {
    await server?.close();
  });
  return () => server!;
}

let counter = 0;

/** isolatedEnv (own Redis keys) plus WSS_SOURCE=nats on its own stream, subjects and consumer. */
export function natsEnv(nats: TestNats, extra: Record<string, string> = {}): Record<string, string> {
  const n = ++counter;
  return isolatedEnv({
    WSS_SOURCE: 'nats',
    WSS_NATS_URL: nats.url,
    WSS_NATS_STREAM: `S${n}_${process.pid}`,
    WSS_NATS_SUBJECTS: `ev${n}.>`,
    WSS_NATS_CONSUMER: `bridge${n}`,
    ...extra,
  });
}

/** A client of the test's own (closed by the caller). */
export function natsClient(nats: TestNats): Promise<NatsConnection> {
  const u = new URL(nats.url);
  return connect({
    servers: `127.0.0.1:${nats.port}`,
    ...(u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : {}),
  });
}

/** Publishes a raw body to `subject` (JetStream), optionally with a Nats-Msg-Id; returns the stream sequence. */
export async function publishRaw(nc: NatsConnection, subject: string, body: string, msgId?: string): Promise<number> {
  const h = headers();
  if (msgId !== undefined) h.set('Nats-Msg-Id', msgId);
  const ack = await jetstream(nc).publish(subject, body, { headers: h });
  return ack.seq;
}

export async function consumerInfo(nc: NatsConnection, stream: string, consumer: string): Promise<ConsumerInfo> {
  return (await jetstreamManager(nc)).consumers.info(stream, consumer);
}

export async function streamInfo(nc: NatsConnection, stream: string): Promise<StreamInfo> {
  return (await jetstreamManager(nc)).streams.info(stream);
}

/** The stored time of the message at `seq` (ms), as the bridge reads it from the ack subject. */
export async function storedAtMs(nc: NatsConnection, stream: string, seq: number): Promise<number> {
  const m = await (await jetstreamManager(nc)).streams.getMessage(stream, { seq });
  return m!.time.getTime();
}

export interface NatsSuite extends BridgeTest {
  nats: () => TestNats;
  /** The suite's own client of the file's server (closed after each test). */
  client(): Promise<NatsConnection>;
  /** `r`, stopped after the test. */
  running<R extends RunningRole>(r: R): Promise<R>;
  /** Every message of the stream acknowledged: nothing pending or in flight, the work queue empty (false before a consumer exists). */
  drained(t: TestCtx): Promise<boolean>;
}

/** The file's nats-server and Redis, a client of its own, and what the NATS suites check. */
export function useNatsSuite(): NatsSuite {
  const nats = useNats();
  const bridgeTest = useBridgeTest();
  let nc: NatsConnection | undefined;
  afterEach(async () => {
    await nc?.close().catch(() => undefined);
    nc = undefined;
  });
  const client = async () => (nc ??= await natsClient(nats()));
  return {
    ...bridgeTest,
    nats,
    client,
    async running(r) {
      bridgeTest.cleanups.push(() => r.stop());
      return r;
    },
    async drained(t) {
      const { stream, consumer } = t.config.source.nats;
      const c = await consumerInfo(await client(), stream, consumer).catch(() => undefined);
      if (!c) return false;
      const s = await streamInfo(await client(), stream);
      return c.num_pending === 0 && c.num_ack_pending === 0 && s.state.messages === 0;
    },
  };
}

export const HOOK_SECRET = 'acme-hook-secret-0123';

/** Tenant acme with endpoint `hook` at `<url>/hook`, secret HOOK_SECRET. */
export const hookTenants = (url: string) => ({
  tenants: [{ id: 'acme', endpoints: [endpoint('hook', { url: `${url}/hook`, secret: HOOK_SECRET })] }],
});
