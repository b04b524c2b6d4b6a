// The AMQP source for bench/scenarios/source-throughput.mjs: the machine's RabbitMQ
// (BENCH_AMQP_URL, default amqp://guest:guest@127.0.0.1:5672, the default vhost), a quorum queue
// of the bench's own (declared the way the bridge declares it, deleted at the end), bulk-loaded
// with persistent messages and publisher confirms, as `wss publish` sends them.
// brokerCpuSeconds: the CPU of RabbitMQ's Erlang VM (beam.smp) from /proc. The broker is shared
// on a busy machine, so the figure includes whatever else it served meanwhile.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import amqp from 'amqplib';
import { cpuSeconds } from './env.mjs';

const URL_DEFAULT = 'amqp://guest:guest@127.0.0.1:5672';

/** The pids of RabbitMQ's Erlang VM (comm beam.smp, `-s rabbit boot` on the command line). */
function rabbitPids() {
  const pids = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'beam.smp') continue;
      // The server boots the rabbit application; rabbitmqctl runs are Erlang VMs too.
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('-s\0rabbit\0boot')) pids.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

export async function prepareSource() {
  const url = process.env.BENCH_AMQP_URL || URL_DEFAULT;
  const queue = `wss-bench-${process.pid}-${Date.now()}`;
  let conn;
  try {
    conn = await amqp.connect(url, { clientProperties: { connection_name: 'wss bench' } });
  } catch (err) {
    throw new Error(`source-amqp: cannot reach RabbitMQ (BENCH_AMQP_URL or ${URL_DEFAULT}): ${err.message}`);
  }
  conn.on('error', () => {});
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  const pids = rabbitPids();
  return {
    env: { WSS_SOURCE: 'amqp', WSS_AMQP_URL: url, WSS_AMQP_QUEUE: queue },
    /** Envelope objects → one persistent message each (messageId as `wss publish` sets it), confirmed. */
    async publish(events) {
      const now = Math.floor(Date.now() / 1000);
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        const ok = ch.sendToQueue(queue, Buffer.from(JSON.stringify(e)), {
          persistent: true,
          contentType: 'application/json',
          messageId: e.id ?? randomUUID(),
          timestamp: now,
        });
        if (!ok) await new Promise((resolve) => ch.once('drain', resolve));
        if (i % 2_000 === 1_999) await ch.waitForConfirms();
      }
      // Confirmed: every message is on a majority of the queue's replicas.
      await ch.waitForConfirms();
    },
    brokerCpuSeconds: () => (pids.length ? pids.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? NaN), 0) : NaN),
    async close() {
      await ch.deleteQueue(queue).catch(() => undefined);
      await conn.close().catch(() => undefined);
    },
  };
}
