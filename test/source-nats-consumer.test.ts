// WSS_SOURCE=nats, the durable consumer against a private nats-server per file: created with
// explicit acks and max_deliver -1, an existing one corrected or refused (naming the setting),
// re-created when deleted under a running bridge; a batch kept in hand past the ack wait stays
// with its bridge (+WPI); NATS unreachable at start stops start-up with one line.
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { startBridge } from '../src/producers/bridge.js';
import { createPublisher } from '../src/producers/sources/index.js';
import { publishTo } from '../src/queue/publish.js';
import { allJobIds, waitUntil } from './helpers/bridge-context.js';
import { consumerInfo, hookTenants as tenants, natsEnv, streamInfo, useNatsSuite } from './helpers/nats.js';
import { freePort } from './helpers/redis-server.js';

const { nats, cleanups, context, client, running, drained } = useNatsSuite();

/**
 * Deletes a consumer. nats-server 2.9.10 sometimes answers "unlinkat …/obs/<consumer>: directory
 * not empty" when the consumer's state is written at that moment (right after acks): the consumer
 * is deleted all the same (its pulls get "409 Consumer Deleted"), only its directory stays.
 */
async function deleteConsumer(stream: string, consumer: string): Promise<void> {
  try {
    await (await jetstreamManager(await client())).consumers.delete(stream, consumer);
  } catch (err) {
    if (!/directory not empty/.test(String(err))) throw err;
  }
}

describe('NATS JetStream source: the consumer', () => {
  it('an existing consumer with max_deliver and another ack wait is set to -1 and WSS_NATS_ACK_WAIT_MS', async () => {
    const env = natsEnv(nats(), { WSS_NATS_ACK_WAIT_MS: '7000' });
    const config = parseConfig(env);
    const { stream, consumer, subjects } = config.source.nats;
    const jsm = await jetstreamManager(await client());
    await jsm.streams.add({ name: stream, subjects: [...subjects] });
    await jsm.consumers.add(stream, {
      durable_name: consumer,
      ack_policy: AckPolicy.Explicit,
      max_deliver: 3,
      ack_wait: 30e9,
    });
    const t = await context(env);
    await running(await startBridge(t.ctx));
    const info = await consumerInfo(await client(), stream, consumer);
    expect(info.config).toMatchObject({ max_deliver: -1, ack_wait: 7000 * 1e6 });
    expect(t.logs.join('\n')).toMatch(/set the consumer to max_deliver -1/);
    // The limits stream is used as it is.
    expect((await streamInfo(await client(), stream)).config.retention).toBe('limits');
  });

  it('refuses a push consumer or another filter, naming the setting', async () => {
    const env = natsEnv(nats());
    const { stream, consumer, subjects } = parseConfig(env).source.nats;
    const jsm = await jetstreamManager(await client());
    await jsm.streams.add({ name: stream, subjects: [...subjects, 'other.>'] });
    await jsm.consumers.add(stream, {
      durable_name: consumer,
      ack_policy: AckPolicy.Explicit,
      filter_subject: 'other.>',
    });
    const t = await context(env);
    await expect(startBridge(t.ctx)).rejects.toThrow(
      new RegExp(
        `WSS_NATS_CONSUMER=${consumer}: filters \\[other\\.>\\] on ${stream} but WSS_NATS_SUBJECTS asks for \\[${subjects[0]!.replace('.', '\\.')}\\]`,
      ),
    );
    await jsm.consumers.delete(stream, consumer);
    await jsm.consumers.add(stream, {
      durable_name: consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_subject: 'push.here',
    });
    await expect(startBridge(t.ctx)).rejects.toThrow(/is a push consumer .* the bridge needs a pull consumer/);
  });
});

describe('NATS JetStream source: the consumer, continued', () => {
  it('is created durable, pull, explicit acks, max_deliver -1; deleted under a running bridge, it is created again', async () => {
    const t = await context(natsEnv(nats()), tenants('http://127.0.0.1:9'));
    const { stream, consumer } = t.config.source.nats;
    const bridge = await running(await startBridge(t.ctx));
    const info = await consumerInfo(await client(), stream, consumer);
    expect(info.config).toMatchObject({
      durable_name: consumer,
      ack_policy: 'explicit',
      ack_wait: 30_000 * 1e6,
      max_deliver: -1,
      max_ack_pending: -1,
      deliver_policy: 'all',
    });
    expect(info.config.deliver_subject).toBeUndefined();
    expect(info.config.filter_subject).toBeUndefined();
    const publisher = createPublisher(t.config, t.ctx.redis, t.log);
    cleanups.push(() => publisher.close());
    await publishTo(publisher, { tenant: 'acme', type: 't', data: {}, id: 'r1' });
    await waitUntil('r1 acknowledged', () => drained(t));
    await deleteConsumer(stream, consumer);
    await publishTo(publisher, { tenant: 'acme', type: 't', data: {}, id: 'r2' });
    await waitUntil('consumer re-created', () => bridge.stats().groupRecreated === 1, 15_000);
    await waitUntil('r2 acknowledged', () => drained(t), 15_000);
    expect(await allJobIds(t)).toEqual(['acme.hook.r1', 'acme.hook.r2']);
    expect(t.logs.join('\n')).toMatch(/the consumer was gone; re-created/);
  });

  it('refuses an existing consumer without explicit acks, and several filter subjects on nats-server 2.9', async () => {
    const env = natsEnv(nats());
    const { stream, consumer, subjects } = parseConfig(env).source.nats;
    const jsm = await jetstreamManager(await client());
    await jsm.streams.add({ name: stream, subjects: [...subjects] });
    await jsm.consumers.add(stream, { durable_name: consumer, ack_policy: AckPolicy.None });
    const t = await context(env);
    await expect(startBridge(t.ctx)).rejects.toThrow(
      `WSS_NATS_CONSUMER=${consumer}: acknowledges "none"; the bridge needs explicit acks (choose another name, or delete it)`,
    );
    const several = await context(
      natsEnv(nats(), {
        WSS_NATS_STREAM: stream,
        WSS_NATS_SUBJECTS: `${subjects[0]!.replace('>', 'a')},${subjects[0]!.replace('>', 'b')}`,
        WSS_NATS_CONSUMER: 'other',
      }),
    );
    const version = (await client()).info!.version;
    expect(version).toMatch(/^2\.9\./);
    await expect(startBridge(several.ctx)).rejects.toThrow(
      `a consumer filtering several subjects needs nats-server 2.10 (this one is ${version})`,
    );
  });
});

describe('NATS JetStream source: a batch kept in hand', () => {
  it('while its commit fails for longer than the ack wait stays with its bridge (+WPI): the other bridge never gets it', async () => {
    const env = natsEnv(nats(), { WSS_NATS_ACK_WAIT_MS: '1000' });
    const t = await context(env, tenants('http://127.0.0.1:9'));
    const { stream, consumer } = t.config.source.nats;
    let failUntil = 0;
    let failures = 0;
    const bridge = await running(
      await startBridge(t.ctx, {
        hooks: {
          afterEnqueue: async () => {
            failUntil ||= Date.now() + 5_000;
            if (Date.now() < failUntil) {
              failures++;
              throw new Error('commit failing (test)');
            }
          },
        },
      }),
    );
    const publisher = createPublisher(t.config, t.ctx.redis, t.log);
    cleanups.push(() => publisher.close());
    await publishTo(publisher, { tenant: 'acme', type: 't', data: {}, id: 'w1' });
    await waitUntil('the first bridge holds it', () => failures > 0);
    // A healthy second bridge pulls all the time: it would get the message once its ack wait passed.
    const other = await running(await startBridge((await context({ ...env, WSS_CONSUMER: 'c2' })).ctx));
    await waitUntil('acknowledged after the failures', () => drained(t), 20_000);
    expect(other.stats().entries).toBe(0);
    // The bridge's back-off grew past the 1 s ack wait between retries, and still:
    expect(failures).toBeGreaterThanOrEqual(4);
    const info = await consumerInfo(await client(), stream, consumer);
    expect(info.num_redelivered).toBe(0);
    expect(info.delivered.consumer_seq).toBe(1);
    expect(bridge.stats()).toMatchObject({ entries: 1, claimed: 0 });
    expect(await allJobIds(t)).toEqual(['acme.hook.w1']);
  });
});

describe('NATS JetStream source: unreachable at start', () => {
  it('start-up stops at once with one line naming the server, not hanging', async () => {
    const port = await freePort();
    const t = await context(natsEnv({ ...nats(), url: `nats://wss:pw-at-start@127.0.0.1:${port}` }));
    await expect(startBridge(t.ctx)).rejects.toThrow(
      new RegExp(`^NATS at nats://wss:\\*\\*\\*@127\\.0\\.0\\.1:${port}: connection refused$`),
    );
  });
});
