// WSS_SOURCE=nats against a private nats-server (JetStream) per file: end to end with signed
// deliveries to a real receiver, where the event id comes from, the publisher, malformed bodies
// dead-lettered with the stream reference and acknowledged, two bridges sharing the consumer,
// and credentials kept out of logs, readiness and errors.
import { describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../src/producers/bridge.js';
import { createPublisher } from '../src/producers/sources/index.js';
import { publishTo } from '../src/queue/publish.js';
import { verifySignature } from '../src/verify/index.js';
import { startWorker } from '../src/workers/worker.js';
import { allJobIds, deadLetters, waitUntil } from './helpers/bridge-context.js';
import {
  HOOK_SECRET as SECRET,
  hookTenants as tenants,
  natsEnv,
  publishRaw,
  startNats,
  storedAtMs,
  streamInfo,
  useNatsSuite,
} from './helpers/nats.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const { nats, cleanups, context, client, running, drained } = useNatsSuite();

describe('NATS JetStream source: delivery', () => {
  it('delivers signed, with the event id from the envelope, else Nats-Msg-Id, else <stream>-<seq>-<ms>', async () => {
    const rx: Receiver = await startReceiver();
    cleanups.push(() => rx.close());
    const t = await context(natsEnv(nats()), tenants(rx.url));
    const { stream, subjects } = t.config.source.nats;
    const subject = subjects[0]!.replace('>', 'acme');
    // The bridge creates stream and consumer; publish only once they exist, like a producer would.
    await running(await startWorker(t.ctx));
    const bridge = await running(await startBridge(t.ctx));
    const c = await client();
    // Data text kept as sent: key order, spacing inside, a number past a double's precision.
    const data = '{"z":1, "big":12345678901234567890,"a":[true,null]}';
    const seqBoth = await publishRaw(
      c,
      subject,
      `{"tenant":"acme","type":"order.paid","data":${data},"id":"evt_body"}`,
      'hdr-1',
    );
    const seqHeader = await publishRaw(c, subject, '{"tenant":"acme","type":"order.paid","data":{"n":2}}', 'hdr-2');
    const seqNone = await publishRaw(
      c,
      subject,
      '{"type":"order.paid","tenant":"acme","data":{"n":3},"priority":null}',
    );
    await rx.waitFor(3);
    await waitUntil('all acknowledged', () => drained(t));

    const byId = new Map(rx.requests.map((r) => [String(r.headers['x-wss-event-id']), r]));
    expect([...byId.keys()].sort()).toEqual(
      ['evt_body', 'hdr-2', expect.stringMatching(new RegExp(`^${stream}-${seqNone}-\\d{13}$`))].sort(),
    );
    for (const r of rx.requests) {
      expect(
        verifySignature({
          secret: SECRET,
          body: r.body,
          timestamp: String(r.headers['x-wss-timestamp']),
          signature: String(r.headers['x-wss-signature']),
        }),
      ).toBe(true);
      expect(r.headers['x-wss-attempt']).toBe('1');
    }
    const first = byId.get('evt_body')!;
    const body = JSON.parse(first.body) as { createdAt: string };
    expect(first.body).toBe(
      `{"id":"evt_body","type":"order.paid","tenant":"acme","createdAt":"${body.createdAt}","data":${data}}`,
    );
    expect(Math.abs(Date.parse(body.createdAt) - Date.now())).toBeLessThan(60_000);
    // The default id carries the store time, which is also createdAt.
    const none = rx.requests.find((r) => String(r.headers['x-wss-event-id']).startsWith(`${stream}-${seqNone}-`))!;
    const ms = Number(String(none.headers['x-wss-event-id']).split('-').pop());
    expect((JSON.parse(none.body) as { createdAt: string }).createdAt).toBe(new Date(ms).toISOString());
    expect(await allJobIds(t)).toEqual(
      ['acme.hook.evt_body', 'acme.hook.hdr-2', `acme.hook.${stream}-${seqNone}-${ms}`].sort(),
    );
    expect(seqBoth).toBe(1);
    expect(seqHeader).toBe(2);
    expect((bridge as RunningBridge).stats()).toMatchObject({
      entries: 3,
      jobs: 3,
      deadLetters: 0,
      lastHandledId: `${stream}#3`,
    });
  });

  it('createdAt is the stream store time; the publisher (wss publish, POST /api/events) creates the stream and sets Nats-Msg-Id', async () => {
    const env = natsEnv(nats());
    const t = await context(env, tenants('http://127.0.0.1:9'));
    const { stream } = t.config.source.nats;
    // No bridge yet: the publisher creates the stream, the events wait in it.
    const publisher = createPublisher(t.config, t.ctx.redis, t.log);
    cleanups.push(() => publisher.close());
    const ref1 = await publishTo(publisher, { tenant: 'acme', type: 'a.b', data: { n: 1 }, id: 'p-1' });
    const ref2 = await publishTo(publisher, { tenant: 'acme', type: 'a.b', data: [1, 2], priority: 'high' });
    // Nats-Msg-Id: JetStream drops a second publish of p-1 within its duplicate window.
    const ref3 = await publishTo(publisher, { tenant: 'acme', type: 'a.b', data: { n: 1 }, id: 'p-1' });
    expect([ref1, ref2, ref3]).toEqual([`${stream}#1`, `${stream}#2`, `${stream}#1`]);
    const stored = await storedAtMs(await client(), stream, 2);
    const s = await streamInfo(await client(), stream);
    expect(s.config).toMatchObject({ subjects: [env['WSS_NATS_SUBJECTS']], retention: 'workqueue', storage: 'file' });
    expect(s.state.messages).toBe(2);

    const bridge = await running(await startBridge(t.ctx));
    await waitUntil('both acknowledged', () => drained(t));
    const jobs = await t.queue.getJobs(['waiting', 'prioritized']);
    const byEvent = new Map(jobs.map((j) => [j.data.eventId, j]));
    expect([...byEvent.keys()].sort()).toEqual([`${stream}-2-${stored}`, 'p-1'].sort());
    expect(byEvent.get(`${stream}-2-${stored}`)!.data.createdAt).toBe(stored);
    expect(bridge.stats()).toMatchObject({ entries: 2, jobs: 2 });
  });
});

describe('NATS JetStream source: malformed messages', () => {
  it('dead-letters each with its reason and <stream>#<seq>, acknowledges it, and goes on', async () => {
    const t = await context(natsEnv(nats()), tenants('http://127.0.0.1:9'));
    const { stream, subjects } = t.config.source.nats;
    const bridge = await running(await startBridge(t.ctx));
    const subject = subjects[0]!.replace('>', 'x');
    const c = await client();
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['not json', undefined, /^message body is not JSON/],
      ['[1,2]', undefined, /^message body must be a JSON object \(the envelope\), got an array$/],
      ['"text"', undefined, /got a string$/],
      ['{"tenant":"acme","type":"t"}', undefined, /^missing field "data"$/],
      ['{"tenant":7,"type":"t","data":{}}', undefined, /^field "tenant" must be a string$/],
      [
        '{"tenant":"acme","type":"t","data":{}}',
        'has:colon',
        /^header "Nats-Msg-Id" \(the event id\) must be 1-200 characters/,
      ],
      ['{"tenant":"acme","type":"t","data":{},"priority":"urgent"}', undefined, /^field "priority" must be/],
      ['{"tenant":"nobody","type":"t","data":{}}', undefined, /^unknown tenant "nobody"$/],
    ];
    const seqs: number[] = [];
    for (const [body, msgId, _] of cases) seqs.push(await publishRaw(c, subject, body, msgId));
    const good = await publishRaw(c, subject, '{"tenant":"acme","type":"t","data":{},"id":"fine"}');
    await waitUntil('all acknowledged', () => drained(t));
    const dead = await deadLetters(t);
    expect(dead.map((d) => d.fields['entryId'])).toEqual(seqs.map((s) => `${stream}#${s}`));
    cases.forEach(([, , reason], i) => expect(dead[i]!.fields['reason']).toMatch(reason));
    // The body that is no envelope is kept, to fix and publish again.
    expect(dead[0]!.fields).toMatchObject({ body: 'not json' });
    expect(dead[5]!.fields).toMatchObject({ id: 'has:colon', tenant: 'acme' });
    expect(await allJobIds(t)).toEqual(['acme.hook.fine']);
    expect(bridge.stats()).toMatchObject({ entries: cases.length + 1, deadLetters: cases.length });
    expect(good).toBe(seqs.length + 1);
  });
});

describe('NATS JetStream source: two bridges', () => {
  it('share the consumer: each message handled once, every job added once', async () => {
    const env = natsEnv(nats(), { WSS_BATCH_SIZE: '20' });
    const t1 = await context({ ...env, WSS_CONSUMER: 'b1' }, tenants('http://127.0.0.1:9'));
    const t2 = await context({ ...env, WSS_CONSUMER: 'b2' });
    const b1 = await running(await startBridge(t1.ctx));
    const b2 = await running(await startBridge(t2.ctx));
    const publisher = createPublisher(t1.config, t1.ctx.redis, t1.log);
    cleanups.push(() => publisher.close());
    const N = 400;
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        publishTo(publisher, { tenant: 'acme', type: 't', data: { i }, id: `e${i}` }),
      ),
    );
    await waitUntil('all acknowledged', () => drained(t1), 30_000);
    expect(b1.stats().entries + b2.stats().entries).toBe(N);
    expect(b1.stats().entries).toBeGreaterThan(0);
    expect(b2.stats().entries).toBeGreaterThan(0);
    expect(await allJobIds(t1)).toEqual(Array.from({ length: N }, (_, i) => `acme.hook.e${i}`).sort());
  });
});

describe('NATS JetStream source: credentials', () => {
  it('never shows the password: not in logs, readiness or the error of a refused login', async () => {
    const pass = 'n4ts-Secret-pass';
    const server = await startNats({ user: 'wss', pass });
    cleanups.push(() => server.close());
    const t = await context(natsEnv(server), tenants('http://127.0.0.1:9'));
    const bridge = await running(await startBridge(t.ctx));
    const r = await bridge.ready();
    const { stream, consumer } = t.config.source.nats;
    expect(r).toEqual({ ok: true, detail: `reading JetStream stream ${stream} (consumer ${consumer})` });
    const publisher = createPublisher(t.config, t.ctx.redis, t.log);
    cleanups.push(() => publisher.close());
    await publishTo(publisher, { tenant: 'acme', type: 't', data: {}, id: 'c1' });
    await waitUntil('job', async () => (await allJobIds(t)).length === 1);
    await server.stop();
    await waitUntil('not ready', async () => !(await bridge.ready()).ok);
    const down = await bridge.ready();
    expect(down.detail).toBe(`nats: not connected to nats://wss:***@127.0.0.1:${server.port} (reconnecting)`);
    await server.start();
    await waitUntil('ready again', async () => (await bridge.ready()).ok, 20_000);

    const wrong = await context(natsEnv({ ...server, url: `nats://wss:wrong-${pass}@127.0.0.1:${server.port}` }));
    const err = await startBridge(wrong.ctx).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(
      new RegExp(`^NATS at nats://wss:\\*\\*\\*@127\\.0\\.0\\.1:${server.port}: .*[Aa]uthorization`),
    );
    const everything = [...t.logs, ...wrong.logs, err?.message, down.detail].join('\n');
    expect(everything).toContain('wss:***@');
    expect(everything).not.toContain(pass);
  });
});
