// The NATS source's pure parts, with known answers: WSS_NATS_URL (credentials apart, never
// shown), subjects and the publish subject, the ack subject, a body → the envelope's fields
// (raw `data` text, the event id's precedence, malformed bodies), the default event id and the
// consumer's filter.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { parseNatsUrl, publishSubject, subjectProblem } from '../src/config/nats.js';
import { parseAckSubject } from '../src/producers/sources/nats/ack-subject.js';
import { redact } from '../src/producers/sources/nats/connection.js';
import { defaultEventId, envelopeJson, memberText, natsFields } from '../src/producers/sources/nats/envelope.js';
import { wantedFilter } from '../src/producers/sources/nats/setup.js';
import { parseEnvelope } from '../src/queue/event.js';

describe('WSS_NATS_URL', () => {
  it('takes user and password out of the URL and shows neither', () => {
    expect(parseNatsUrl('nats://alice:s3cr%40t@nats.example:4223')).toEqual({
      servers: ['nats.example:4223'],
      tls: false,
      user: 'alice',
      pass: 's3cr@t',
      token: undefined,
      shown: 'nats://alice:***@nats.example:4223',
    });
  });

  it('reads a user name without a password as a token; several servers; tls://; port 4222 by default', () => {
    expect(parseNatsUrl('tls://tok3n@a, tls://b:4333')).toEqual({
      servers: ['a:4222', 'b:4333'],
      tls: true,
      user: undefined,
      pass: undefined,
      token: 'tok3n',
      shown: 'tls://***@a:4222,tls://b:4333',
    });
    expect(parseNatsUrl('nats://127.0.0.1')).toMatchObject({
      servers: ['127.0.0.1:4222'],
      shown: 'nats://127.0.0.1:4222',
    });
  });

  it('names what is wrong without quoting a password', () => {
    expect(parseNatsUrl('redis://u:pw@h')).toEqual(['expected nats:// or tls://, got "redis:"']);
    expect(parseNatsUrl('nats://u:pw@h:1/x')).toEqual(['nats://h:1: no path or options after the host']);
    expect(parseNatsUrl('nats://a, nonsense')).toEqual([
      'URL 2: not a URL (expected nats://host:port or tls://host:port)',
    ]);
    expect(parseNatsUrl('nats://u:one@a,nats://u:two@b')).toEqual([
      'the URLs carry different credentials; give them once (one connection, one identity)',
    ]);
    expect(parseNatsUrl('nats://a,tls://b')).toEqual(['mixes nats:// and tls:// URLs; use one scheme for all']);
    expect(() => parseConfig({ WSS_NATS_URL: 'http://u:hunter2-pass@h' })).toThrow(/WSS_NATS_URL: expected nats:\/\//);
    try {
      parseConfig({ WSS_NATS_URL: 'http://u:hunter2-pass@h' });
    } catch (err) {
      expect(String(err)).not.toContain('hunter2');
    }
  });

  it('settings: defaults, and bad names and subjects refused naming the variable', () => {
    const n = parseConfig({}).source.nats;
    expect(n).toMatchObject({
      stream: 'WSS_EVENTS',
      subjects: ['wss.events.>'],
      consumer: 'wss-bridge',
      ackWaitMs: 30_000,
    });
    expect(n.url.shown).toBe('nats://127.0.0.1:4222');
    expect(() => parseConfig({ WSS_NATS_STREAM: 'a.b' })).toThrow(/WSS_NATS_STREAM: must be 1-200 characters without/);
    expect(() => parseConfig({ WSS_NATS_SUBJECTS: 'a.>.b' })).toThrow(
      /WSS_NATS_SUBJECTS: "a.>.b": ">" may only be the last token/,
    );
    expect(() => parseConfig({ WSS_NATS_ACK_WAIT_MS: '10' })).toThrow(/WSS_NATS_ACK_WAIT_MS/);
    expect(parseConfig({ WSS_NATS_SUBJECTS: 'orders.*, billing.>' }).source.nats.subjects).toEqual([
      'orders.*',
      'billing.>',
    ]);
  });

  it('redact replaces the password and the token wherever a message quotes them', () => {
    const t = parseNatsUrl('nats://u:pw-123@h') as Exclude<ReturnType<typeof parseNatsUrl>, string[]>;
    expect(redact('login pw-123 refused (pw-123)', t)).toBe('login *** refused (***)');
  });
});

describe('subjects', () => {
  it('checks tokens and wildcards', () => {
    expect(subjectProblem('wss.events.>')).toBeUndefined();
    expect(subjectProblem('a.*.c')).toBeUndefined();
    expect(subjectProblem('a..b')).toBe('"a..b" has an empty token');
    expect(subjectProblem('a.b*')).toBe('"a.b*": "*" must be a whole token');
    expect(subjectProblem('a b')).toBe('"a b" has a space');
  });

  it('a tenant publishes to the first subject with its wildcards replaced by the tenant id', () => {
    expect(publishSubject(['wss.events.>'], 'acme')).toBe('wss.events.acme');
    expect(publishSubject(['orders.*.created', 'x.>'], 'acme')).toBe('orders.acme.created');
    expect(publishSubject(['events'], 'acme')).toBe('events');
  });
});

describe('the ack subject', () => {
  it('reads both forms: delivery count, stream sequence, store time in ms', () => {
    expect(parseAckSubject('$JS.ACK.WSS_EVENTS.wss-bridge.3.42.40.1733500000123456789.7')).toEqual({
      stream: 'WSS_EVENTS',
      consumer: 'wss-bridge',
      delivered: 3,
      streamSeq: 42,
      timestampMs: 1733500000123,
    });
    expect(parseAckSubject('$JS.ACK._.ACCHASH.S.c.1.9.9.1733500000999000001.0.Xr4nd')).toMatchObject({
      stream: 'S',
      delivered: 1,
      streamSeq: 9,
      timestampMs: 1733500000999,
    });
    expect(parseAckSubject('_INBOX.abc.1')).toBeUndefined();
    expect(parseAckSubject('$JS.ACK.S.c.x.1.1.1.0')).toBeUndefined();
  });
});

describe('a message body → the envelope fields', () => {
  const MAX = 1_000;

  it('keeps the text of `data` exactly as sent, whatever its nesting, escapes or duplicates', () => {
    const body = '{ "tenant" : "acme", "d\\u0061ta" : {"s":"}]\\"{", "n":12345678901234567890 } , "type":"t.x"}';
    expect(natsFields(body, undefined, MAX)).toEqual({
      fields: { tenant: 'acme', data: '{"s":"}]\\"{", "n":12345678901234567890 }', type: 't.x' },
    });
    expect(memberText('{"data":1,"data":[1, 2]}', 'data')).toBe('[1, 2]');
    expect(memberText('{"a":"data","data":"x"}', 'data')).toBe('"x"');
    expect(memberText('{"data":null}', 'data')).toBe('null');
    expect(memberText('{"data":-1.5e3}', 'data')).toBe('-1.5e3');
    expect(memberText('{"other":{}}', 'data')).toBeUndefined();
  });

  it('validates like a stream entry: the same fields give the same event', () => {
    const { fields } = natsFields(
      '{"tenant":"acme","type":"a.b","data":{"x":1},"priority":"high","extra":[1]}',
      undefined,
      MAX,
    );
    expect(fields).toEqual({ tenant: 'acme', type: 'a.b', data: '{"x":1}', priority: 'high', extra: '[1]' });
    const parsed = parseEnvelope(fields, { defaultEventId: 'S-1-5', createdAtMs: 5 });
    expect(parsed).toMatchObject({ ok: true, event: { id: 'S-1-5', priority: 'high', dataText: '{"x":1}' } });
  });

  it("event id: the envelope's id, else Nats-Msg-Id; null optional fields are absent", () => {
    expect(natsFields('{"id":"from-body","tenant":"a","type":"t","data":1}', 'from-header', MAX).fields['id']).toBe(
      'from-body',
    );
    expect(natsFields('{"id":null,"tenant":"a","type":"t","data":1}', 'from-header', MAX).fields['id']).toBe(
      'from-header',
    );
    expect(natsFields('{"tenant":"a","type":"t","data":1,"priority":null}', undefined, MAX).fields).toEqual({
      tenant: 'a',
      type: 't',
      data: '1',
    });
  });

  it('malformed: not JSON, not an object, a field that is no string, a Nats-Msg-Id that is no event id', () => {
    expect(natsFields('{"tenant":', undefined, MAX)).toEqual({
      fields: { body: '{"tenant":' },
      malformed: expect.stringMatching(/^message body is not JSON/),
    });
    expect(natsFields('42', undefined, MAX).malformed).toBe(
      'message body must be a JSON object (the envelope), got a number',
    );
    expect(natsFields('null', undefined, MAX).malformed).toBe(
      'message body must be a JSON object (the envelope), got null',
    );
    expect(natsFields('x'.repeat(MAX + 1), undefined, MAX).fields).toEqual({ bodyBytes: String(MAX + 1) });
    expect(natsFields('{"tenant":"a","type":["t"],"data":1}', undefined, MAX)).toEqual({
      fields: { tenant: 'a', type: '["t"]', data: '1' },
      malformed: 'field "type" must be a string',
    });
    expect(natsFields('{"tenant":"a","type":"t","data":1}', 'order:1', MAX).malformed).toMatch(
      /^header "Nats-Msg-Id" \(the event id\) must be/,
    );
  });

  it('what a publisher sends reads back as the same fields', () => {
    const fields = {
      tenant: 'acme',
      type: 'a.b',
      data: '{"big":12345678901234567890,"s":"\\u00e9"}',
      id: 'e-1',
      priority: 'low',
    };
    const body = envelopeJson(fields);
    expect(body).toBe(
      '{"tenant":"acme","type":"a.b","data":{"big":12345678901234567890,"s":"\\u00e9"},"id":"e-1","priority":"low"}',
    );
    expect(natsFields(body, 'e-1', MAX)).toEqual({ fields });
  });
});

describe('ids and filters', () => {
  it('the default event id is <stream>-<seq>-<store ms>, only event-id characters', () => {
    expect(defaultEventId('WSS_EVENTS', 42, 1733500000123)).toBe('WSS_EVENTS-42-1733500000123');
    expect(defaultEventId('ünï:code', 1, 2)).toBe('_n__code-1-2');
  });

  it('the consumer filters only when its subjects are not all of the stream', () => {
    expect(wantedFilter(['a.>'], ['a.>'])).toEqual([]);
    expect(wantedFilter(['b.>', 'a.>'], ['a.>', 'b.>'])).toEqual([]);
    expect(wantedFilter(['a.x'], ['a.>'])).toEqual(['a.x']);
    expect(wantedFilter(['a.>'], ['a.>', 'b.>'])).toEqual(['a.>']);
  });
});
