// What docs/wire-contract.md tells a receiver to deduplicate on, checked against what is signed:
// X-WSS-Event-Id carries the event id on every copy but is outside the X-WSS signature, while the
// body's `id` (the envelope's, or a transform's that keeps it) and Standard Webhooks' `webhook-id`
// are inside it. The doc once said both "not signed, use the body's id" and "deduplicate on
// X-WSS-Event-Id" (issue 18, item 10). A real bridge, worker and receiver on 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { expect, it } from 'vitest';
import { verifySignature } from '../src/verify/index.js';
import { endpoint, isolatedEnv, useBridgeTest } from './helpers/bridge-context.js';
import { startReceiver } from './helpers/receiver.js';
import { startAllRoles } from './helpers/roles.js';

const { cleanups, context } = useBridgeTest();
const WHSEC = `whsec_${randomBytes(32).toString('base64')}`;

it('the event id is signed in the envelope body, in a transform that keeps `id`, and as webhook-id; X-WSS-Event-Id is not', async () => {
  const rx = await startReceiver(() => ({ status: 204 }));
  cleanups.push(() => rx.close());
  const url = (p: string) => `${rx.url}/${p}`;
  const eps = {
    envelope: endpoint('envelope', { url: url('envelope') }),
    kept: endpoint('kept', { url: url('kept'), transform: "{ 'id': id, 'orderId': data.orderId }" }),
    sw: endpoint('sw', { url: url('sw'), secret: WHSEC, signature: { scheme: 'standard-webhooks' } }),
  };
  const t = await context(isolatedEnv({ PORT: '0', WSS_ALLOW_PRIVATE_URLS: 'true' }), {
    tenants: [{ id: 'acme', endpoints: Object.values(eps) }],
  });
  await startAllRoles(t, cleanups, { logCredentials: false });
  await t.ctx.redis.xadd(
    t.config.stream,
    '*',
    'tenant',
    'acme',
    'type',
    'order.x',
    'id',
    'evt-7',
    'data',
    '{"orderId":"o-7"}',
  );
  const reqs = await rx.waitFor(3);
  const at = (p: string) => reqs.find((r) => r.path === `/${p}`)!;

  for (const name of ['envelope', 'kept'] as const) {
    const r = at(name);
    const secret = eps[name].secret as string;
    const d = {
      body: r.body,
      timestamp: String(r.headers['x-wss-timestamp']),
      signature: String(r.headers['x-wss-signature']),
    };
    // Every copy carries the id in the header, and the body's id is the same id…
    expect(r.headers['x-wss-event-id']).toBe('evt-7');
    expect(JSON.parse(r.body).id).toBe('evt-7');
    // …but only the body's is signed: the signature is over timestamp + body, so a request
    // replayed with another X-WSS-Event-Id still verifies, and one with another body id does not.
    expect(verifySignature({ secret, ...d })).toBe(true);
    expect(() => verifySignature({ secret, ...d, body: r.body.replace('evt-7', 'evt-8') })).toThrow(
      /SIGNATURE_MISMATCH|match/i,
    );
  }
  expect(JSON.parse(at('kept').body)).toEqual({ id: 'evt-7', orderId: 'o-7' });

  // Standard Webhooks: webhook-id is the event id and part of the signed message.
  const sw = at('sw');
  const headers = sw.headers as Record<string, string>;
  expect(headers['webhook-id']).toBe('evt-7');
  expect(new Webhook(WHSEC).verify(sw.body, headers)).toBeTruthy();
  expect(() => new Webhook(WHSEC).verify(sw.body, { ...headers, 'webhook-id': 'evt-8' })).toThrow();
});

it('no document tells receivers to deduplicate on the unsigned header', () => {
  const docs = new URL('../docs/', import.meta.url);
  const texts = [
    ['README.md', readFileSync(new URL('../README.md', import.meta.url), 'utf8')],
    ...readdirSync(docs, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => [`docs/${f}`, readFileSync(new URL(f, docs), 'utf8')]),
  ];
  const told = texts.flatMap(([name, text]) =>
    [...text!.replace(/\s+/g, ' ').matchAll(/deduplicate on `X-WSS-Event-Id`[^.]*/gi)].map((m) => `${name}: ${m[0]}`),
  );
  expect(told).toEqual([]);
});
