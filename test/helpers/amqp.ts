// RabbitMQ for the AMQP source's suites: the machine's broker (127.0.0.1:5672, as .ci/run
// starts it), never stopped or reconfigured. Each suite gets a private vhost and a private user
// with a password of its own (so tests can check that it never shows), both deleted afterwards.
// A broker outage is simulated on that vhost only: the user's permissions are cleared and the
// bridge's connections closed (`rabbitmqctl close_connection`), so reconnecting fails until the
// permissions come back.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll } from 'vitest';

const run = promisify(execFile);
const HOST = '127.0.0.1:5672';

/** rabbitmqctl (needs root or the rabbitmq user, as on the CI machine); its stdout. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', ...args], { timeout: 90_000 });
  return stdout;
}

export interface AmqpVhost {
  vhost: string;
  user: string;
  password: string;
  /** amqp://user:password@127.0.0.1:5672/<vhost> */
  url: string;
}

export interface UseAmqpVhost {
  amqp(): AmqpVhost;
  /** A connection of the test's own (closed after the suite). */
  connection(): Promise<amqp.ChannelModel>;
}

/** A private vhost and user for the file's suites; gone after them. */
export function useAmqpVhost(): UseAmqpVhost {
  const id = `wss-t-${process.pid}-${randomBytes(3).toString('hex')}`;
  const v: AmqpVhost = {
    vhost: id,
    user: id,
    password: `pw-${randomBytes(9).toString('hex')}`,
    url: '',
  };
  v.url = `amqp://${v.user}:${v.password}@${HOST}/${encodeURIComponent(v.vhost)}`;
  const conns: amqp.ChannelModel[] = [];
  beforeAll(async () => {
    await rabbitmqctl('add_vhost', v.vhost);
    await rabbitmqctl('add_user', v.user, v.password);
    await grant(v);
  });
  afterAll(async () => {
    for (const c of conns) await c.close().catch(() => undefined);
    await rabbitmqctl('delete_vhost', v.vhost).catch(() => undefined);
    await rabbitmqctl('delete_user', v.user).catch(() => undefined);
  });
  return {
    amqp: () => v,
    async connection() {
      const c = await amqp.connect(v.url, { clientProperties: { connection_name: 'wss test' } });
      c.on('error', () => {});
      conns.push(c);
      return c;
    },
  };
}

export async function grant(v: AmqpVhost): Promise<void> {
  await rabbitmqctl('set_permissions', '-p', v.vhost, v.user, '.*', '.*', '.*');
}

/** Closes the vhost's connections whose client-given name matches `name`; how many were closed. */
export async function closeConnections(v: AmqpVhost, name: RegExp): Promise<number> {
  const rows = (await rabbitmqctl('list_connections', '-s', 'pid', 'vhost', 'client_properties'))
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([pid, vhost, props]) => pid && vhost === v.vhost && name.test(props ?? ''));
  for (const [pid] of rows) await rabbitmqctl('close_connection', pid!, 'test: broker outage');
  return rows.length;
}

/** The broker "goes away" for the vhost: no new connection succeeds, and `name`'s are closed. */
export async function cutOff(v: AmqpVhost, name: RegExp): Promise<number> {
  await rabbitmqctl('clear_permissions', '-p', v.vhost, v.user);
  return closeConnections(v, name);
}

/** Ready and unacknowledged messages of a queue, as the broker counts them. */
export async function queueCounts(
  v: AmqpVhost,
  queue: string,
): Promise<{ ready: number; unacked: number; type: string }> {
  const out = await rabbitmqctl(
    'list_queues',
    '-s',
    '-p',
    v.vhost,
    'name',
    'type',
    'messages_ready',
    'messages_unacknowledged',
  );
  for (const line of out.split('\n')) {
    const [name, type, ready, unacked] = line.split('\t');
    if (name === queue) return { type: type!, ready: Number(ready), unacked: Number(unacked) };
  }
  throw new Error(`queue ${queue} not found in vhost ${v.vhost}`);
}

/** Publishes raw bodies with the given properties and waits for the broker's confirms. */
export async function publishRaw(
  conn: amqp.ChannelModel,
  queue: string,
  messages: ReadonlyArray<{ body: string | Buffer; props?: amqp.Options.Publish }>,
): Promise<void> {
  const ch = await conn.createConfirmChannel();
  for (const m of messages)
    ch.sendToQueue(queue, Buffer.isBuffer(m.body) ? m.body : Buffer.from(m.body), { persistent: true, ...m.props });
  await ch.waitForConfirms();
  await ch.close();
}
