// The bridge against a real Redis: stream entries → BullMQ jobs (asserted on the queue itself),
// dead letters, acknowledgements, group re-creation.
import { describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../src/producers/bridge.js';
import { publishEvent, EventRejectedError } from '../src/queue/publish.js';
import {
  allJobIds,
  deadLetters,
  endpoint,
  isolatedEnv,
  pendingCount,
  waitUntil,
  type TestCtx,
  useBridgeTest,
} from './helpers/bridge-context.js';

const { cleanups, context, ownRedis } = useBridgeTest();

async function setup(
  tenants: unknown,
  env: Record<string, string> = {},
): Promise<{ t: TestCtx; start: () => Promise<RunningBridge> }> {
  const t = await context(isolatedEnv(env), tenants);
  return {
    t,
    start: async () => {
      const b = await startBridge(t.ctx);
      cleanups.push(() => b.stop());
      return b;
    },
  };
}

const xadd = (t: TestCtx, ...fields: string[]) => t.ctx.redis.xadd(t.config.stream, '*', ...fields) as Promise<string>;

const ACME = {
  tenants: [
    {
      id: 'acme',
      endpoints: [
        endpoint('orders', { events: ['order.*'], retry: { attempts: 7, backoffMs: 250 } }),
        endpoint('everything'),
        endpoint('shipped', { events: ['order.*'], filter: "data.status = 'shipped'" }),
        endpoint('pending-only', { events: ['order.*'], filter: "data.status = 'pending'" }),
        endpoint('slim', { events: ['order.updated'], transform: "{ 'orderId': data.orderId, 'at': createdAt }" }),
        endpoint('off', { enabled: false }),
        endpoint('invoices', { events: ['invoice.*'] }),
      ],
    },
  ],
};

describe('bridge: fan-out', () => {
  it('adds one job per matching endpoint with deterministic ids and the exact body', async () => {
    const { t, start } = await setup(ACME);
    const data = '{"orderId":"o-1",  "status":"shipped"}';
    const entryId = await xadd(t, 'tenant', 'acme', 'type', 'order.updated', 'data', data, 'id', 'evt_1');
    const bridge = await start();
    await waitUntil('entry acknowledged', async () => bridge.stats().entries === 1 && (await pendingCount(t)) === 0);

    expect(await allJobIds(t)).toEqual(
      ['acme.everything.evt_1', 'acme.orders.evt_1', 'acme.shipped.evt_1', 'acme.slim.evt_1'].sort(),
    );
    const createdAtMs = Number(entryId.split('-')[0]);
    const iso = new Date(createdAtMs).toISOString();
    const envelope = `{"id":"evt_1","type":"order.updated","tenant":"acme","createdAt":"${iso}","data":{"orderId":"o-1",  "status":"shipped"}}`;

    const orders = (await t.queue.getJob('acme.orders.evt_1'))!;
    expect(orders.name).toBe('deliver');
    expect(orders.data).toEqual({
      eventId: 'evt_1',
      tenant: 'acme',
      endpoint: 'orders',
      type: 'order.updated',
      createdAt: createdAtMs,
      body: envelope,
    });
    expect(orders.opts.attempts).toBe(7);
    expect(orders.opts.backoff).toEqual({ type: 'wss', delay: 250 });
    expect((await t.queue.getJob('acme.everything.evt_1'))!.data.body).toBe(envelope);
    expect((await t.queue.getJob('acme.shipped.evt_1'))!.data.body).toBe(envelope);
    expect((await t.queue.getJob('acme.slim.evt_1'))!.data.body).toBe(`{"orderId":"o-1","at":"${iso}"}`);
    // No secret or URL in job data.
    expect(JSON.stringify(orders.data)).not.toContain('secret-');
    expect(await deadLetters(t)).toEqual([]);
    // Read as a new entry, not rescued later by XAUTOCLAIM.
    expect(bridge.stats().claimed).toBe(0);
  });

  it('uses the stream entry id as event id when the producer gives none', async () => {
    const { t, start } = await setup(ACME);
    const bridge = await start();
    const entryId = await xadd(t, 'tenant', 'acme', 'type', 'invoice.paid', 'data', '{"n":1}');
    await waitUntil('entry handled', () => bridge.stats().entries === 1);
    expect(await allJobIds(t)).toEqual([`acme.everything.${entryId}`, `acme.invoices.${entryId}`].sort());
  });

  it('keeps events of two tenants apart', async () => {
    const { t, start } = await setup({
      tenants: [
        { id: 'acme', endpoints: [endpoint('hooks')] },
        { id: 'globex', endpoints: [endpoint('hooks')] },
      ],
    });
    const bridge = await start();
    await xadd(t, 'tenant', 'acme', 'type', 'a.x', 'data', '{"secretOf":"acme"}', 'id', 'e1');
    await xadd(t, 'tenant', 'globex', 'type', 'a.x', 'data', '{"secretOf":"globex"}', 'id', 'e2');
    await xadd(t, 'tenant', 'acme', 'type', 'a.y', 'data', '{"secretOf":"acme"}', 'id', 'e3');
    await waitUntil('3 entries handled', () => bridge.stats().entries === 3);
    const jobs = await t.queue.getJobs(['prioritized']);
    expect(jobs.map((j) => j.id).sort()).toEqual(['acme.hooks.e1', 'acme.hooks.e3', 'globex.hooks.e2']);
    for (const j of jobs) {
      const body = JSON.parse(j.data.body) as { tenant: string; data: { secretOf: string } };
      expect(body.tenant).toBe(j.data.tenant);
      expect(body.data.secretOf).toBe(j.data.tenant);
    }
  });

  it('delivers events that were in the stream before the bridge first started', async () => {
    const { t, start } = await setup(ACME);
    await xadd(t, 'tenant', 'acme', 'type', 'invoice.paid', 'data', '1', 'id', 'early');
    const bridge = await start();
    await waitUntil('entry handled', () => bridge.stats().entries === 1);
    expect(await allJobIds(t)).toEqual(['acme.everything.early', 'acme.invoices.early'].sort());
  });
});

describe('bridge: entries that make no job', () => {
  it('dead-letters malformed entries and unknown tenants with the original fields, acks them and keeps going', async () => {
    const { t, start } = await setup(ACME);
    const bridge = await start();
    const marker = 'BODY-MARKER-7f3a';
    const bad: Array<{ fields: string[]; reason: RegExp; kind: string }> = [
      {
        fields: ['type', 'order.created', 'data', `{"m":"${marker}"}`],
        reason: /missing field "tenant"/,
        kind: 'malformed',
      },
      { fields: ['tenant', 'acme', 'data', `{"m":"${marker}"}`], reason: /missing field "type"/, kind: 'malformed' },
      { fields: ['tenant', 'acme', 'type', 'order.created'], reason: /missing field "data"/, kind: 'malformed' },
      {
        fields: ['tenant', 'acme', 'type', 'order.created', 'data', `not json ${marker}`],
        reason: /field "data" is not JSON/,
        kind: 'malformed',
      },
      {
        fields: ['tenant', 'nobody', 'type', 'order.created', 'data', `{"m":"${marker}"}`],
        reason: /unknown tenant "nobody"/,
        kind: 'unknown_tenant',
      },
      {
        fields: ['tenant', 'acme', 'type', 'order.created', 'data', `{"m":"${marker}"}`, 'id', 'has:colon'],
        reason: /field "id"/,
        kind: 'malformed',
      },
      { fields: ['tenant', 'Bad Tenant', 'type', 'order.created', 'data', '{}'], reason: /tenant/, kind: 'malformed' },
    ];
    const ids: string[] = [];
    for (const b of bad) ids.push(await xadd(t, ...b.fields));
    await xadd(t, 'tenant', 'acme', 'type', 'invoice.paid', 'data', '{}', 'id', 'good');

    await waitUntil(
      'all entries handled',
      async () => bridge.stats().entries === bad.length + 1 && (await pendingCount(t)) === 0,
    );
    const dead = await deadLetters(t);
    expect(dead).toHaveLength(bad.length);
    bad.forEach((b, i) => {
      const d = dead[i]!.fields;
      const original: Record<string, string> = {};
      for (let k = 0; k < b.fields.length; k += 2) original[b.fields[k]!] = b.fields[k + 1]!;
      expect(d).toEqual({ ...original, reason: expect.stringMatching(b.reason), entryId: ids[i] });
    });
    expect(await allJobIds(t)).toEqual(['acme.everything.good', 'acme.invoices.good'].sort());

    const warnings = t.logs.filter((l) => l.includes('dead-lettered'));
    expect(warnings).toHaveLength(bad.length);
    expect(warnings.every((l) => JSON.parse(l).level === 40)).toBe(true);
    expect(t.logs.join('\n')).not.toContain(marker);
  });

  it('dead-letters a failing transform for that endpoint only; the others still get jobs', async () => {
    const { t, start } = await setup({
      tenants: [
        {
          id: 'acme',
          endpoints: [endpoint('ok'), endpoint('broken', { transform: "$error('no shape for ' & type)" })],
        },
      ],
    });
    const bridge = await start();
    const entryId = await xadd(t, 'tenant', 'acme', 'type', 'x.y', 'data', '{"a":1}', 'id', 'ev');
    await waitUntil('entry handled', async () => bridge.stats().entries === 1 && (await pendingCount(t)) === 0);
    expect(await allJobIds(t)).toEqual(['acme.ok.ev'].sort());
    const dead = await deadLetters(t);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.fields).toMatchObject({
      tenant: 'acme',
      type: 'x.y',
      data: '{"a":1}',
      id: 'ev',
      entryId,
      endpoint: 'broken',
    });
    // The code and position, not jsonata's message (which may quote event data).
    expect(dead[0]!.fields['reason']).toBe(
      'endpoint "broken": transform failed: error: $error() was called (D3137 at position 7)',
    );
  });

  it('acknowledges events no endpoint wants without dead-lettering them', async () => {
    const { t: t2, start } = await setup({
      tenants: [
        {
          id: 'acme',
          endpoints: [endpoint('invoices', { events: ['invoice.*'] }), endpoint('f', { filter: 'data.n > 5' })],
        },
      ],
    });
    const bridge = await start();
    await xadd(t2, 'tenant', 'acme', 'type', 'order.created', 'data', '{"n":1}', 'id', 'u1');
    await xadd(t2, 'tenant', 'acme', 'type', 'order.created', 'data', '{"n":9}', 'id', 'u2');
    await waitUntil('entries handled', async () => bridge.stats().entries === 2 && (await pendingCount(t2)) === 0);
    expect(bridge.stats().unrouted).toBe(1);
    expect(await allJobIds(t2)).toEqual(['acme.f.u2'].sort());
    expect(await deadLetters(t2)).toEqual([]);
  });
});

describe('bridge: resilience', () => {
  it('re-creates its consumer group when it disappears and keeps delivering', async () => {
    const { t, start } = await setup(ACME);
    const bridge = await start();
    await xadd(t, 'tenant', 'acme', 'type', 'invoice.paid', 'data', '{}', 'id', 'before');
    await waitUntil('first entry', () => bridge.stats().entries === 1);
    await t.ctx.redis.xgroup('DESTROY', t.config.stream, t.config.group);
    await xadd(t, 'tenant', 'acme', 'type', 'invoice.paid', 'data', '{}', 'id', 'after');
    await waitUntil('second entry', () => bridge.stats().entries >= 2, 15_000);
    expect(bridge.stats().groupRecreated).toBeGreaterThanOrEqual(1);
    expect(await allJobIds(t)).toEqual(
      ['acme.everything.after', 'acme.invoices.after', 'acme.everything.before', 'acme.invoices.before'].sort(),
    );
    // Re-created after the last handled entry: the first one is not read again.
    expect(bridge.stats().entries).toBe(2);
    expect((await bridge.ready()).ok).toBe(true);
  });

  it('carries on when the whole stream is deleted under it', async () => {
    const { t, start } = await setup(ACME);
    const bridge = await start();
    await xadd(t, 'tenant', 'acme', 'type', 'invoice.paid', 'data', '{}', 'id', 'd1');
    await waitUntil('first entry', () => bridge.stats().entries === 1);
    await t.ctx.redis.del(t.config.stream);
    await waitUntil('group re-created', () => bridge.stats().groupRecreated >= 1);
    await xadd(t, 'tenant', 'acme', 'type', 'invoice.paid', 'data', '{}', 'id', 'd2');
    await waitUntil('second entry', async () => bridge.stats().entries === 2 && (await pendingCount(t)) === 0);
    expect(await allJobIds(t)).toEqual(
      ['acme.everything.d1', 'acme.invoices.d1', 'acme.everything.d2', 'acme.invoices.d2'].sort(),
    );
  });

  it('re-reads a batch whose commit failed, acknowledges it, and adds each job once', async () => {
    const t = await context(isolatedEnv(), ACME);
    let failures = 0;
    const bridge = await startBridge(t.ctx, {
      hooks: {
        afterEnqueue: async () => {
          if (failures++ < 2) throw new Error('simulated failure after addBulk');
        },
      },
    });
    cleanups.push(() => bridge.stop());
    await xadd(t, 'tenant', 'acme', 'type', 'invoice.paid', 'data', '{}', 'id', 'r1');
    await waitUntil('entry acknowledged', async () => bridge.stats().entries === 1 && (await pendingCount(t)) === 0);
    expect(bridge.stats().errors).toBe(2);
    expect(await allJobIds(t)).toEqual(['acme.everything.r1', 'acme.invoices.r1'].sort());
    expect(await t.queue.count()).toBe(2);
    expect(t.logs.some((l) => l.includes('simulated failure after addBulk'))).toBe(true);
  });

  it('reports ready with its group present and not ready once stopped', async () => {
    const { t, start } = await setup(ACME);
    const bridge = await start();
    expect(await bridge.ready()).toMatchObject({ ok: true });
    await bridge.stop();
    expect((await bridge.ready()).ok).toBe(false);
    expect(await t.ctx.redis.xinfo('GROUPS', t.config.stream)).toHaveLength(1);
  });

  it('stops promptly while idle and leaves nothing pending', async () => {
    const { t, start } = await setup(ACME);
    const bridge = await start();
    await xadd(t, 'tenant', 'acme', 'type', 'invoice.paid', 'data', '{}', 'id', 's1');
    await waitUntil('entry handled', () => bridge.stats().entries === 1);
    await bridge.stop();
    expect(await pendingCount(t)).toBe(0);
  });
});

describe('publishEvent', () => {
  it('adds a valid event that the bridge turns into jobs with the same data', async () => {
    const { t, start } = await setup(ACME);
    const bridge = await start();
    const entryId = await publishEvent(t.ctx.redis, t.config.stream, {
      tenant: 'acme',
      type: 'invoice.paid',
      data: { amount: 12.5, tags: ['a'] },
      id: 'pub_1',
    });
    expect(entryId).toMatch(/^\d+-\d+$/);
    const entries = (await t.ctx.redis.xrange(t.config.stream, entryId, entryId)) as Array<[string, string[]]>;
    expect(entries[0]?.[1]).toEqual([
      'tenant',
      'acme',
      'type',
      'invoice.paid',
      'data',
      '{"amount":12.5,"tags":["a"]}',
      'id',
      'pub_1',
    ]);
    await waitUntil('entry handled', () => bridge.stats().entries === 1);
    const job = (await t.queue.getJob('acme.invoices.pub_1'))!;
    expect(JSON.parse(job.data.body)).toMatchObject({ id: 'pub_1', data: { amount: 12.5, tags: ['a'] } });
  });

  it('refuses what the bridge would dead-letter, and adds nothing', async () => {
    const { t } = await setup(ACME);
    const cases: Array<[Parameters<typeof publishEvent>[2], RegExp]> = [
      [{ tenant: '', type: 'a', data: {} }, /missing field "tenant"/],
      [{ tenant: 'Acme!', type: 'a', data: {} }, /tenant/],
      [{ tenant: 'acme', type: 'has space', data: {} }, /field "type"/],
      [{ tenant: 'acme', type: 'a', data: undefined }, /cannot be written as JSON/],
      [{ tenant: 'acme', type: 'a', data: {}, id: 'a:b' }, /field "id"/],
    ];
    for (const [input, reason] of cases) {
      const err = await publishEvent(t.ctx.redis, t.config.stream, input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EventRejectedError);
      expect((err as EventRejectedError).code).toBe('EVENT_INVALID');
      expect((err as Error).message).toMatch(reason);
    }
    expect(await t.ctx.redis.exists(t.config.stream)).toBe(0);
  });
});

describe('bridge: Redis restart', () => {
  it('rides out a Redis restart and keeps turning entries into jobs', async () => {
    const own = await ownRedis({ appendonly: true });
    const t = await context(isolatedEnv(), ACME, own.url);
    const bridge = await startBridge(t.ctx);
    cleanups.push(() => bridge.stop());
    await xadd(t, 'tenant', 'acme', 'type', 'invoice.paid', 'data', '{}', 'id', 'pre');
    await waitUntil('first entry', () => bridge.stats().entries === 1);
    await own.stop();
    await new Promise((r) => setTimeout(r, 300));
    await own.start();
    await xadd(t, 'tenant', 'acme', 'type', 'invoice.paid', 'data', '{}', 'id', 'post');
    await waitUntil(
      'entry after restart',
      async () => bridge.stats().entries === 2 && (await pendingCount(t)) === 0,
      20_000,
    );
    expect(await allJobIds(t)).toEqual(
      ['acme.everything.post', 'acme.invoices.post', 'acme.everything.pre', 'acme.invoices.pre'].sort(),
    );
    expect((await bridge.ready()).ok).toBe(true);
  });
});
