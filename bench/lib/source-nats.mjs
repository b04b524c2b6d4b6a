// The NATS JetStream source for the source-throughput scenario: a private nats-server with
// JetStream on a free 127.0.0.1 port (its store in the run's dir), the stream created the way
// the bridge creates it (work queue, file storage), events bulk-loaded before the bridge starts,
// and the server's CPU read from /proc.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { cpuSeconds, freePort, waitUntil } from './env.mjs';

// Debian installs it in /usr/sbin, which a non-root PATH may lack.
const NATS_SERVER = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
const STREAM = 'WSS_BENCH';
const SUBJECTS = 'bench.events.>';
// Publishes in flight while loading (each is acknowledged by the server).
const WINDOW = 1_000;

/** The body the service's publisher sends: `data` given as text is taken as JSON text (paddedData), else serialised. */
function body(e) {
  const data = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
  const id = e.id === undefined ? '' : `,"id":${JSON.stringify(e.id)}`;
  const priority = e.priority === undefined ? '' : `,"priority":${JSON.stringify(e.priority)}`;
  return `{"tenant":${JSON.stringify(e.tenant)},"type":${JSON.stringify(e.type)},"data":${data}${id}${priority}}`;
}

export async function prepareSource({ runDir }) {
  const port = await freePort();
  const dir = join(runDir, 'nats-store');
  mkdirSync(dir, { recursive: true });
  const proc = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
  const failed = new Promise((_, reject) =>
    proc.once('error', (err) =>
      reject(new Error(`cannot start nats-server (apt-get install nats-server): ${err.message}`)),
    ),
  );
  const nc = await Promise.race([
    failed,
    waitUntil(() => connect({ servers: `127.0.0.1:${port}` }).catch(() => undefined), {
      timeoutMs: 15_000,
      everyMs: 100,
      what: 'nats-server to accept connections',
    }),
  ]);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: STREAM,
    subjects: [SUBJECTS],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
  });
  const js = jetstream(nc);
  return {
    env: {
      WSS_SOURCE: 'nats',
      WSS_NATS_URL: `nats://127.0.0.1:${port}`,
      WSS_NATS_STREAM: STREAM,
      WSS_NATS_SUBJECTS: SUBJECTS,
      WSS_NATS_CONSUMER: 'wss-bridge',
    },
    async publish(events) {
      for (let i = 0; i < events.length; i += WINDOW) {
        await Promise.all(
          events.slice(i, i + WINDOW).map((e) => {
            const h = headers();
            if (e.id !== undefined) h.set('Nats-Msg-Id', e.id);
            return js.publish(`bench.events.${e.tenant}`, body(e), { headers: h });
          }),
        );
      }
      const info = await jsm.streams.info(STREAM);
      if (info.state.messages < events.length)
        throw new Error(`nats: ${info.state.messages} of ${events.length} events in ${STREAM} after loading`);
    },
    brokerCpuSeconds: () => cpuSeconds(proc.pid) ?? NaN,
    async close() {
      await nc.close().catch(() => undefined);
      if (proc.exitCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
