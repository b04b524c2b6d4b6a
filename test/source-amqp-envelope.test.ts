// The AMQP source's pure parts, with known answers: message body → envelope fields (validated
// afterwards exactly as stream entries are), the event id and creation time from the AMQP
// properties, delivery counts → what is handed out next, and the settings (no password shown).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { describeAmqpUrl, redactPassword } from '../src/producers/sources/amqp/connection.js';
import { deliveryKind, returnsOf, takeBatch, type Held } from '../src/producers/sources/amqp/deliveries.js';
import {
  bodyFields,
  createdAtMs,
  defaultEventId,
  envelopeJson,
  rawBodyFields,
  topLevelValueText,
} from '../src/producers/sources/amqp/envelope.js';
import { prefetchFor } from '../src/producers/sources/amqp/source.js';
import { parseEnvelope } from '../src/queue/event.js';
import { eventFields } from '../src/queue/publish.js';

const b = (s: string) => Buffer.from(s);

describe('bodyFields: the body as the fields a stream entry carries', () => {
  it('keeps strings, writes other values as JSON, and keeps `data` as the producer wrote it', () => {
    const r = bodyFields(
      b(
        '{ "tenant":"acme", "type":"order.created", "data" : {"n": 12345678901234567890, "p": 1.50} , "id":"e1", "x": [1,{"y":null}], "z": true }',
      ),
    );
    expect(r).toEqual({
      ok: true,
      fields: {
        tenant: 'acme',
        type: 'order.created',
        id: 'e1',
        x: '[1,{"y":null}]',
        z: 'true',
        data: '{"n": 12345678901234567890, "p": 1.50}',
      },
    });
  });

  it('takes `data` of any JSON type, the last of repeated keys (as JSON.parse does), escaped key names too', () => {
    expect(topLevelValueText('{"data":"a \\" } ] b"}', 'data')).toBe('"a \\" } ] b"');
    expect(topLevelValueText('{"data":[1,"]",{"a":"}"}],"n":1}', 'data')).toBe('[1,"]",{"a":"}"}]');
    expect(topLevelValueText('{"data":-1.5e3}', 'data')).toBe('-1.5e3');
    expect(topLevelValueText('{"data":null,"d":2}', 'data')).toBe('null');
    expect(topLevelValueText('{"data":1,"data":{"k":2}}', 'data')).toBe('{"k":2}');
    expect(topLevelValueText('{"d\\u0061ta":false}', 'data')).toBe('false');
    expect(topLevelValueText('{"nested":{"data":1}}', 'data')).toBeUndefined();
    expect(topLevelValueText('{}', 'data')).toBeUndefined();
  });

  it('treats null as absent for the text fields, and refuses other non-strings there', () => {
    expect(bodyFields(b('{"tenant":"acme","type":"t","data":1,"id":null,"priority":null}'))).toEqual({
      ok: true,
      fields: { tenant: 'acme', type: 't', data: '1' },
    });
    expect(bodyFields(b('{"tenant":"acme","type":"t","data":1,"id":42}'))).toEqual({
      ok: false,
      reason: 'field "id" must be a string, not a number',
    });
    expect(bodyFields(b('{"tenant":["acme"]}'))).toEqual({
      ok: false,
      reason: 'field "tenant" must be a string, not an array',
    });
  });

  it('says why a body is not an envelope, never quoting it', () => {
    expect(bodyFields(b('secret-ish text'))).toEqual({ ok: false, reason: 'message body is not JSON' });
    expect(bodyFields(b('{"tenant":'))).toEqual({ ok: false, reason: 'message body is not JSON (unexpected end)' });
    expect(bodyFields(b('[]'))).toEqual({
      ok: false,
      reason: 'message body is an array in JSON, not an object (the envelope)',
    });
    expect(bodyFields(b('"text"'))).toEqual({
      ok: false,
      reason: 'message body is a string in JSON, not an object (the envelope)',
    });
    expect(bodyFields(b('null'))).toEqual({
      ok: false,
      reason: 'message body is null in JSON, not an object (the envelope)',
    });
    expect(bodyFields(b(''))).toEqual({ ok: false, reason: 'message body is not JSON (unexpected end)' });
  });

  it('is validated afterwards exactly as a stream entry is', () => {
    const origin = { defaultEventId: 'd', createdAtMs: 0 };
    const parse = (body: string) => {
      const r = bodyFields(b(body));
      if (!r.ok) throw new Error(r.reason);
      return parseEnvelope(r.fields, origin);
    };
    expect(parse('{"tenant":"acme","type":"t"}')).toEqual({
      ok: false,
      kind: 'malformed',
      reason: 'missing field "data"',
    });
    expect(parse('{"tenant":"acme","type":"t","data":1,"priority":"urgent"}')).toMatchObject({
      ok: false,
      kind: 'malformed',
    });
    expect(parse('{"tenant":"acme","type":"t","data":{"a":1}}')).toMatchObject({
      ok: true,
      event: { id: 'd', dataText: '{"a":1}' },
    });
  });

  it('envelopeJson is what `wss publish` sends, and reads back to the same fields', () => {
    const fields = eventFields({
      tenant: 'acme',
      type: 'order.created',
      data: { n: [1, 'two'] },
      id: 'e1',
      priority: 'low',
    });
    const json = envelopeJson(fields);
    expect(json).toBe('{"tenant":"acme","type":"order.created","data":{"n":[1,"two"]},"id":"e1","priority":"low"}');
    expect(bodyFields(b(json))).toEqual({ ok: true, fields });
  });

  it('keeps a body that is not an envelope as text, as base64 when it is not UTF-8, or only its size when too large', () => {
    expect(rawBodyFields(b('plain'), 100)).toEqual({ body: 'plain' });
    expect(rawBodyFields(Buffer.from([0xc3, 0x28]), 100)).toEqual({ bodyBase64: 'wyg=' });
    expect(rawBodyFields(b('x'.repeat(101)), 100)).toEqual({ bodyBytes: '101' });
  });
});

describe('event id and creation time from the AMQP properties', () => {
  const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

  it('messageId when valid, a hash of it when not, else a hash of the timestamp and the body', () => {
    expect(defaultEventId({ messageId: 'order-1' }, b('{}'))).toBe('order-1');
    expect(defaultEventId({ messageId: 'urn:uuid:1' }, b('{}'))).toBe(`msgid-${hash('urn:uuid:1')}`);
    expect(defaultEventId({}, b('{"a":1}'))).toBe(`sha256-${hash('\n{"a":1}')}`);
    expect(defaultEventId({ messageId: '' }, b('{"a":1}'))).toBe(`sha256-${hash('\n{"a":1}')}`);
    expect(defaultEventId({ timestamp: 1700000000 }, b('{"a":1}'))).toBe(`sha256-${hash('1700000000\n{"a":1}')}`);
    // Deterministic: a redelivery gets the same id.
    expect(defaultEventId({ timestamp: 5 }, b('x'))).toBe(defaultEventId({ timestamp: 5 }, b('x')));
  });

  it('timestamp in seconds (AMQP) or milliseconds (Date.now()), else when first seen', () => {
    expect(createdAtMs(1_767_225_600, 7)).toBe(1_767_225_600_000);
    expect(createdAtMs(1_767_225_600_123, 7)).toBe(1_767_225_600_123);
    expect(createdAtMs(undefined, 7)).toBe(7);
    expect(createdAtMs(0, 7)).toBe(7);
    expect(createdAtMs('1767225600', 7)).toBe(7);
  });
});

describe('delivery counts → what is handed out next', () => {
  it('reads x-delivery-count as a number and classifies it against WSS_MAX_ENTRY_DELIVERIES', () => {
    expect(returnsOf(undefined)).toBe(0);
    expect(returnsOf({ 'x-delivery-count': 3 })).toBe(3);
    expect(returnsOf({ 'x-delivery-count': BigInt(4) })).toBe(4);
    expect(returnsOf({ 'x-delivery-count': 'junk' })).toBe(0);
    expect([0, 1, 2, 4, 5, 9].map((n) => deliveryKind(n, 5, true))).toEqual([
      'new',
      'returned',
      'suspect',
      'suspect',
      'poison',
      'poison',
    ]);
    // A classic queue counts nothing, whatever a header says.
    expect(deliveryKind(9, 5, false)).toBe('new');
  });

  const h = (id: string, kind: Held<string>['kind'], bytes = 10): Held<string> => ({
    kind,
    returns: 0,
    bytes,
    message: id,
  });
  const ids = (t: ReturnType<typeof takeBatch<string>>) =>
    t && { taken: t.taken.map((x) => x.message), rest: t.rest.map((x) => x.message), poison: t.poison };
  const limits = { batchSize: 3, batchBytes: 1_000 };

  it('poison first, then usual messages up to the size and byte budget, suspects alone and only when allowed', () => {
    const held = [
      h('s1', 'suspect'),
      h('n1', 'new'),
      h('p1', 'poison'),
      h('r1', 'returned'),
      h('n2', 'new'),
      h('n3', 'new'),
      h('p2', 'poison'),
    ];
    expect(ids(takeBatch(held, limits, false))).toEqual({
      taken: ['p1', 'p2'],
      rest: ['s1', 'n1', 'r1', 'n2', 'n3'],
      poison: true,
    });
    expect(
      ids(
        takeBatch(
          held.filter((x) => x.kind !== 'poison'),
          limits,
          false,
        ),
      ),
    ).toEqual({
      taken: ['n1', 'r1', 'n2'],
      rest: ['s1', 'n3'],
      poison: false,
    });
    expect(takeBatch([h('s1', 'suspect'), h('s2', 'suspect')], limits, false)).toBeUndefined();
    expect(ids(takeBatch([h('s1', 'suspect'), h('s2', 'suspect')], limits, true))).toEqual({
      taken: ['s1'],
      rest: ['s2'],
      poison: false,
    });
    // The byte budget stops a batch in order (at least one message).
    expect(ids(takeBatch([h('a', 'new', 600), h('b', 'new', 600), h('c', 'new', 1)], limits, false))).toEqual({
      taken: ['a'],
      rest: ['b', 'c'],
      poison: false,
    });
    expect(ids(takeBatch([h('big', 'new', 5_000)], limits, false))?.taken).toEqual(['big']);
    expect(takeBatch([], limits, true)).toBeUndefined();
  });

  it('prefetches twice the batch size, at most 65,535 (a 16-bit field)', () => {
    expect(prefetchFor(500)).toBe(1_000);
    expect(prefetchFor(10_000)).toBe(20_000);
    expect(prefetchFor(40_000)).toBe(65_535);
  });
});

describe('WSS_AMQP_URL and WSS_AMQP_QUEUE', () => {
  it('default to amqp://127.0.0.1:5672 and wss.events', () => {
    const c = parseConfig({ WSS_SOURCE: 'amqp' });
    expect(c.source.amqp).toEqual({ url: 'amqp://127.0.0.1:5672', queue: 'wss.events' });
  });

  it('refuse bad values naming the variable, never quoting the URL', () => {
    const secret = 'hunter2-secret';
    const errorOf = (env: Record<string, string>) => {
      try {
        parseConfig(env);
      } catch (err) {
        return String(err);
      }
      return 'no error';
    };
    const http = errorOf({ WSS_AMQP_URL: `http://u:${secret}@host:5672` });
    expect(http).toMatch(/WSS_AMQP_URL: expected amqp:\/\/ or amqps:\/\/, got "http:"/);
    expect(http).not.toContain(secret);
    expect(errorOf({ WSS_AMQP_URL: `not a url ${secret}` })).toMatch(/WSS_AMQP_URL: not a URL/);
    expect(errorOf({ WSS_AMQP_URL: `not a url ${secret}` })).not.toContain(secret);
    expect(errorOf({ WSS_AMQP_QUEUE: 'amq.mine' })).toMatch(
      /WSS_AMQP_QUEUE: must be a queue name .* not starting with "amq\."/,
    );
    expect(errorOf({ WSS_AMQP_QUEUE: 'q'.repeat(256) })).toMatch(/WSS_AMQP_QUEUE/);
  });

  it('show the broker without its password or query', () => {
    expect(describeAmqpUrl('amqp://app:s3cr%40t@rabbit:5672/prod?heartbeat=15')).toBe(
      'amqp://app:***@rabbit:5672/prod',
    );
    expect(describeAmqpUrl('amqps://rabbit')).toBe('amqps://rabbit');
    expect(redactPassword('login s3cr@t refused (s3cr%40t)', 'amqp://app:s3cr%40t@rabbit/')).toBe(
      'login *** refused (***)',
    );
  });
});
