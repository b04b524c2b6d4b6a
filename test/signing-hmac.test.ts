import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { sign } from '../src/signing/sign.js';
import { verifySignature, WebhookVerificationError, type VerifyErrorCode } from '../src/verify/index.js';

// Independent implementations: python3's hmac module and openssl.
function pythonHmac(secret: string, timestamp: string, body: string): string {
  const code =
    'import hmac,hashlib,sys;s,t,b=sys.argv[1:4];print(hmac.new(s.encode(),(t+b).encode(),hashlib.sha256).hexdigest())';
  return execFileSync('python3', ['-c', code, secret, timestamp, body], { encoding: 'utf8' }).trim();
}
function opensslHmac(secret: string, timestamp: string, body: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret], {
    input: timestamp + body,
    encoding: 'utf8',
  });
  return out.trim().split(/\s+/).pop()!;
}

const vectors = [
  {
    secret: 'at-least-16-chars-secret',
    timestamp: '1700000000',
    body: '{"id":"evt_1","type":"order.updated","data":{"orderId":"o-1"}}',
  },
  { secret: 'whsec-ünïcödé-secret-✓', timestamp: '1', body: '' },
  { secret: '0123456789abcdef', timestamp: '4102444800', body: '{"emoji":"🚀","text":"line\\nbreak"}' },
];

describe('sign', () => {
  it('matches a fixed known answer', () => {
    // Computed once with: printf '%s' '1700000000{"a":1}' | openssl dgst -sha256 -hmac 'at-least-16-chars-secret'
    expect(sign('at-least-16-chars-secret', 1700000000, '{"a":1}')).toBe(
      '5cda3345b6a99ed5340389a6f8906077e62c98d1d74973ee89eb7d6b07741993',
    );
  });

  it.each(vectors)('agrees with python3 hmac and openssl for %#', ({ secret, timestamp, body }) => {
    const ours = sign(secret, timestamp, body);
    expect(ours).toMatch(/^[0-9a-f]{64}$/);
    expect(ours).toBe(pythonHmac(secret, timestamp, body));
    expect(ours).toBe(opensslHmac(secret, timestamp, body));
  });

  it('signs bytes and strings alike', () => {
    const body = '{"x":"é"}';
    expect(sign('0123456789abcdef', 5, Buffer.from(body, 'utf8'))).toBe(sign('0123456789abcdef', '5', body));
  });
});

describe('verifySignature', () => {
  const secret = 'at-least-16-chars-secret';
  const body = '{"id":"evt_1","data":{"n":1}}';
  const nowMs = 1_700_000_000_000;
  const ts = String(nowMs / 1000);
  const good = { secret, body, timestamp: ts, signature: sign(secret, ts, body), now: () => nowMs };

  const code = (input: Parameters<typeof verifySignature>[0]): VerifyErrorCode | 'ok' => {
    try {
      verifySignature(input);
      return 'ok';
    } catch (err) {
      expect(err).toBeInstanceOf(WebhookVerificationError);
      return (err as WebhookVerificationError).code;
    }
  };

  it('accepts an authentic, fresh request (string or bytes body, upper-case hex)', () => {
    expect(code(good)).toBe('ok');
    expect(code({ ...good, body: Buffer.from(body) })).toBe('ok');
    expect(code({ ...good, signature: good.signature.toUpperCase() })).toBe('ok');
  });

  it('accepts a signature computed by openssl', () => {
    expect(code({ ...good, signature: opensslHmac(secret, ts, body) })).toBe('ok');
  });

  it('rejects a tampered body', () =>
    expect(code({ ...good, body: body.replace('1', '2') })).toBe('SIGNATURE_MISMATCH'));
  it('rejects the wrong secret', () =>
    expect(code({ ...good, secret: 'another-secret-of-16+' })).toBe('SIGNATURE_MISMATCH'));
  it('rejects a timestamp swapped under a valid signature', () =>
    expect(code({ ...good, timestamp: String(Number(ts) - 1) })).toBe('SIGNATURE_MISMATCH'));

  it('rejects a stale timestamp, i.e. a replay outside the window', () => {
    const later = () => nowMs + 301_000;
    expect(code({ ...good, now: later })).toBe('TIMESTAMP_TOO_OLD');
    expect(code({ ...good, now: () => nowMs + 300_000 })).toBe('ok');
    expect(code({ ...good, now: later, toleranceSec: 600 })).toBe('ok');
  });

  it('rejects a timestamp from the future beyond tolerance', () => {
    expect(code({ ...good, now: () => nowMs - 301_000 })).toBe('TIMESTAMP_IN_FUTURE');
  });

  it('rejects missing and malformed headers with distinct codes', () => {
    expect(code({ ...good, timestamp: undefined })).toBe('MISSING_TIMESTAMP');
    expect(code({ ...good, timestamp: '' })).toBe('MISSING_TIMESTAMP');
    expect(code({ ...good, signature: null })).toBe('MISSING_SIGNATURE');
    expect(code({ ...good, timestamp: '17e8' })).toBe('MALFORMED_TIMESTAMP');
    expect(code({ ...good, timestamp: '-5' })).toBe('MALFORMED_TIMESTAMP');
    expect(code({ ...good, signature: 'sha256=' + good.signature })).toBe('MALFORMED_SIGNATURE');
    expect(code({ ...good, signature: good.signature.slice(2) })).toBe('MALFORMED_SIGNATURE');
    expect(code({ ...good, secret: '' })).toBe('MISSING_SECRET');
  });
});
