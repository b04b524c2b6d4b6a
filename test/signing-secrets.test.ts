// Signing, pure parts: secret formats per scheme, the rotation forms of the tenants file, the
// rotation function, WSS_SECRETS_KEY parsing and the at-rest encryption. Bad input is refused
// naming the field, and the secret's value is never quoted.
import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, verify as edVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { TenantsValidationError } from '../src/lib/errors.js';
import { generateSecret, publicKeyOf, ed25519Key } from '../src/signing/keys.js';
import { parseOverlap, rotateSecret, RotationError } from '../src/signing/rotate.js';
import { decryptSecret, encryptSecret } from '../src/signing/secret-box.js';
import { prepareSigner, signatureHeaders } from '../src/signing/signer.js';
import { decodeEndpoint, encodeEndpoint } from '../src/signing/stored-secrets.js';
import { missingSecretEnvs } from '../src/tenants/load-file.js';
import { parseEndpoint, parseTenantsFile, type EndpointConfig } from '../src/tenants/schema.js';
import { verifySignature } from '../src/verify/index.js';

const OLD = 'old-secret-0123456789abcdef';
const NEW = 'new-secret-0123456789abcdef';
const whsec = (n: number) => `whsec_${randomBytes(n).toString('base64')}`;
const base = { id: 'orders', url: 'https://hooks.acme.example/orders' };

function problems(
  ep: Record<string, unknown>,
  rules?: { allowPrivateUrls: boolean; secretsEncrypted?: boolean },
): string {
  try {
    parseTenantsFile({ tenants: [{ id: 'acme', endpoints: [{ ...base, ...ep }] }] }, rules);
  } catch (err) {
    expect(err).toBeInstanceOf(TenantsValidationError);
    return (err as TenantsValidationError).problems.join('\n');
  }
  throw new Error('expected a refusal');
}

describe('secrets in the tenants file', () => {
  it('refuses bad input naming tenant, endpoint and field, never quoting the secret', () => {
    const badB64 = 'whsec_not*base64!!';
    const short = whsec(16);
    const long = whsec(65);
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { secret: OLD, signature: { scheme: 'hmac-md5' } },
        'field "signature.scheme": must be one of wss, standard-webhooks, standard-webhooks-ed25519',
      ],
      [
        { secret: badB64, signature: { scheme: 'standard-webhooks' } },
        'field "secret": is not valid base64 after "whsec_"',
      ],
      [
        { secret: short, signature: { scheme: 'standard-webhooks' } },
        'field "secret": decodes to 16 bytes (must be 24 to 64)',
      ],
      [
        { secret: long, signature: { scheme: 'standard-webhooks' } },
        'field "secret": decodes to 65 bytes (must be 24 to 64)',
      ],
      [{ secret: OLD, signature: { scheme: 'standard-webhooks' } }, 'field "secret": must start with "whsec_"'],
      [
        { secret: 'whsk_AAAA', signature: { scheme: 'standard-webhooks-ed25519' } },
        'field "secret": decodes to 3 bytes',
      ],
      [
        {
          secret: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----',
          signature: { scheme: 'standard-webhooks-ed25519' },
        },
        'field "secret": is a PEM block that does not parse',
      ],
      [{ secret: 'short' }, 'field "secret": must be at least 16 characters'],
      [
        {
          secrets: Array.from({ length: 11 }, (_, i) => ({
            secret: `${OLD}-${i}`,
            ...(i > 0 ? { expiresAt: '2030-01-01T00:00:00Z' } : {}),
          })),
        },
        'field "secrets": at most 10 active secrets',
      ],
      [{ secrets: [{ secret: NEW }, { secret: OLD }] }, 'field "secrets.1.expiresAt": an older secret needs an expiry'],
      [
        { secrets: [{ secret: NEW }, { secret: OLD, expiresAt: 'tomorrow' }] },
        'field "secrets.1.expiresAt": must be an ISO 8601 date-time',
      ],
      [
        { secrets: [{ secret: NEW, expiresAt: '2030-01-01T00:00:00Z' }] },
        'field "secrets.0.expiresAt": the newest secret does not expire',
      ],
      [
        { secret: NEW, secrets: [{ secret: OLD }] },
        'field "secret": give exactly one of "secret", "secretEnv" or "secrets"',
      ],
      [
        { secretEnv: 'WSS_SECRET_ACME_NEW', previousSecretEnv: 'WSS_SECRET_ACME_OLD' },
        'field "previousSecretExpiresAt": previousSecretEnv and previousSecretExpiresAt go together',
      ],
      [
        { secret: NEW, previousSecretEnv: 'WSS_SECRET_ACME_OLD', previousSecretExpiresAt: '2030-01-01T00:00:00Z' },
        'field "previousSecretEnv": goes with "secretEnv"',
      ],
      [
        {
          secretEnv: 'WSS_SECRET_ACME_NEW',
          previousSecretEnv: 'PATH',
          previousSecretExpiresAt: '2030-01-01T00:00:00Z',
        },
        'field "previousSecretEnv": must be an environment variable name starting with WSS_SECRET_',
      ],
      [
        { secret: OLD, headers: { 'Webhook-Signature': 'x' } },
        'field "headers.Webhook-Signature": is set by webhook-sender',
      ],
    ];
    for (const [ep, expected] of cases) {
      const text = problems(ep);
      expect(text, JSON.stringify(ep)).toContain('tenant "acme" endpoint "orders"');
      expect(text, JSON.stringify(ep)).toContain(expected);
      for (const s of [badB64, short, long, OLD, NEW]) expect(text).not.toContain(s);
    }
  });

  it('refuses an inline Ed25519 private key unless WSS_SECRETS_KEY encrypts it', () => {
    const ep = {
      secret: generateSecret('standard-webhooks-ed25519'),
      signature: { scheme: 'standard-webhooks-ed25519' },
    };
    expect(problems(ep, { allowPrivateUrls: true, secretsEncrypted: false })).toContain(
      'field "secret": an Ed25519 private key is kept in Redis only encrypted',
    );
    expect(parseEndpoint({ ...base, ...ep }, { allowPrivateUrls: true, secretsEncrypted: true }).secret).toBe(
      ep.secret,
    );
    expect(
      parseEndpoint(
        { ...base, secretEnv: 'WSS_SECRET_ACME_ED', signature: ep.signature },
        { allowPrivateUrls: true, secretsEncrypted: false },
      ).secretEnv,
    ).toBe('WSS_SECRET_ACME_ED');
  });

  it('stores `secrets` and `previousSecretEnv` as the newest secret plus previousSecrets', () => {
    const a = parseEndpoint({
      ...base,
      secrets: [{ secret: NEW }, { secretEnv: 'WSS_SECRET_ACME_OLD', expiresAt: '2030-01-01T00:00:00+01:00' }],
    });
    expect(a.secret).toBe(NEW);
    expect(a.previousSecrets).toEqual([{ secretEnv: 'WSS_SECRET_ACME_OLD', expiresAt: '2029-12-31T23:00:00.000Z' }]);
    expect('secrets' in a).toBe(false);
    const b = parseEndpoint({
      ...base,
      secretEnv: 'WSS_SECRET_ACME_NEW',
      previousSecretEnv: 'WSS_SECRET_ACME_OLD',
      previousSecretExpiresAt: '2030-01-01T00:00:00Z',
    });
    expect(b.secretEnv).toBe('WSS_SECRET_ACME_NEW');
    expect(b.previousSecrets).toEqual([{ secretEnv: 'WSS_SECRET_ACME_OLD', expiresAt: '2030-01-01T00:00:00.000Z' }]);
    expect('previousSecretEnv' in b).toBe(false);
    const c = parseEndpoint({ ...base, secret: whsec(32), signature: { scheme: 'standard-webhooks' } });
    expect(c.signature).toEqual({ scheme: 'standard-webhooks' });
  });
});

describe('seeding notes', () => {
  it('names an unset previous secret variable as well as the newest', () => {
    const f = parseTenantsFile({
      tenants: [
        {
          id: 'acme',
          endpoints: [
            {
              ...base,
              secretEnv: 'WSS_SECRET_ACME_NEW',
              previousSecretEnv: 'WSS_SECRET_ACME_OLD',
              previousSecretExpiresAt: '2030-01-01T00:00:00Z',
            },
          ],
        },
      ],
    });
    expect(missingSecretEnvs(f, (n) => n === 'WSS_SECRET_ACME_NEW')).toEqual([
      'tenant "acme" endpoint "orders": WSS_SECRET_ACME_OLD',
    ]);
    expect(missingSecretEnvs(f, () => true)).toEqual([]);
  });
});

describe('rotation', () => {
  const ep = parseEndpoint({ ...base, secret: OLD });
  const t0 = Date.parse('2026-01-01T00:00:00Z');

  it('keeps the old secret until now + overlap; a second rotation keeps both older ones; expired ones go', () => {
    const r1 = rotateSecret(ep, { secret: NEW }, parseOverlap('24h'), t0, 'acme');
    expect(r1.secret).toBe(NEW);
    expect(r1.previousSecrets).toEqual([{ secret: OLD, expiresAt: '2026-01-02T00:00:00.000Z' }]);
    const r2 = rotateSecret(r1, { secretEnv: 'WSS_SECRET_ACME_THIRD' }, parseOverlap('1h'), t0 + 1000, 'acme');
    expect(r2.secretEnv).toBe('WSS_SECRET_ACME_THIRD');
    expect(r2.secret).toBeUndefined();
    expect(r2.previousSecrets!.map((p) => p.secret)).toEqual([NEW, OLD]);
    // A day later the first overlap has ended: OLD is dropped when the next rotation is written.
    const r3 = rotateSecret(r2, { secret: `${NEW}-4` }, parseOverlap('0s'), t0 + 86_400_001, 'acme');
    expect(r3.previousSecrets).toBeUndefined();
  });

  it('refuses an overlap over 7 days, a malformed one, a bad secret and an 11th active secret, naming the field', () => {
    expect(parseOverlap('7d')).toBe(7 * 86_400_000);
    expect(parseOverlap(undefined)).toBe(86_400_000);
    expect(() => parseOverlap('8d')).toThrow('field "overlap": must be at most 7 days');
    expect(() => parseOverlap('169h')).toThrow('field "overlap": must be at most 7 days');
    expect(() => parseOverlap('soon')).toThrow('field "overlap": must be a duration');
    expect(() => rotateSecret(ep, { secret: 'short' }, 1000, t0, 'acme')).toThrow(
      'field "secret": must be at least 16 characters',
    );
    let cur: EndpointConfig = ep;
    for (let i = 0; i < 9; i++) cur = rotateSecret(cur, { secret: `${NEW}-${i}` }, 3_600_000, t0, 'acme');
    expect(cur.previousSecrets).toHaveLength(9);
    expect(() => rotateSecret(cur, { secret: `${NEW}-x` }, 3_600_000, t0, 'acme')).toThrow(RotationError);
    expect(() => rotateSecret(cur, { secret: `${NEW}-x` }, 3_600_000, t0, 'acme')).toThrow('at most 10');
    // A hard cut ("0s") adds nothing and is allowed.
    expect(rotateSecret(cur, { secret: `${NEW}-x` }, 0, t0, 'acme').previousSecrets).toHaveLength(9);
  });

  it('signs with every active secret, newest first, and only the newest once the overlap ends', () => {
    const r = rotateSecret(ep, { secret: NEW }, 60_000, t0, 'acme');
    const body = '{"id":"evt_1"}';
    const during = signatureHeaders(
      prepareSigner(r, () => undefined, 'acme'),
      'evt_1',
      body,
      t0 + 59_000,
    );
    const ts = during['X-WSS-Timestamp']!;
    const hmac = (s: string) =>
      createHmac('sha256', s)
        .update(ts + body)
        .digest('hex');
    expect(during['X-WSS-Signature']).toBe(`${hmac(NEW)} ${hmac(OLD)}`);
    const now = () => Number(ts) * 1000;
    expect(verifySignature({ secret: OLD, body, timestamp: ts, signature: during['X-WSS-Signature'], now })).toBe(true);
    expect(verifySignature({ secret: NEW, body, timestamp: ts, signature: during['X-WSS-Signature'], now })).toBe(true);
    const after = signatureHeaders(
      prepareSigner(r, () => undefined, 'acme'),
      'evt_1',
      body,
      t0 + 60_000,
    );
    expect(after['X-WSS-Signature']).toBe(
      createHmac('sha256', NEW)
        .update(after['X-WSS-Timestamp']! + body)
        .digest('hex'),
    );
    expect(() =>
      verifySignature({
        secret: OLD,
        body,
        timestamp: after['X-WSS-Timestamp'],
        signature: after['X-WSS-Signature'],
        now: () => t0 + 60_000,
      }),
    ).toThrow('signature does not match');
  });

  it('verifySignature accepts a list of secrets and refuses more than 10 signatures as malformed', () => {
    const body = 'x';
    const ts = '1700000000';
    const sig = createHmac('sha256', OLD)
      .update(ts + body)
      .digest('hex');
    const now = () => 1_700_000_000_000;
    expect(verifySignature({ secret: ['nope-nope-nope-nope', OLD], body, timestamp: ts, signature: sig, now })).toBe(
      true,
    );
    expect(() =>
      verifySignature({ secret: OLD, body, timestamp: ts, signature: Array(11).fill(sig).join(' '), now }),
    ).toThrow(/not 64 hex digits/);
  });
});

describe('Ed25519 keys', () => {
  it('a generated key signs "id.timestamp.body" so that node crypto.verify accepts it with the public key', () => {
    const ep = parseEndpoint({
      ...base,
      secret: generateSecret('standard-webhooks-ed25519'),
      signature: { scheme: 'standard-webhooks-ed25519' },
    });
    const h = signatureHeaders(
      prepareSigner(ep, () => undefined, 'acme'),
      'evt_9',
      '{"a":1}',
      1_700_000_000_000,
    );
    expect(h['webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/]+={0,2}$/);
    const key = ed25519Key(ep.secret!);
    if (typeof key === 'string') throw new Error(key);
    const raw = Buffer.from(publicKeyOf(key).publicKey.slice('whpk_'.length), 'base64');
    expect(raw).toHaveLength(32);
    const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    const sig = Buffer.from(h['webhook-signature']!.slice(4), 'base64');
    expect(edVerify(null, Buffer.from(`evt_9.${h['webhook-timestamp']}.{"a":1}`), pub, sig)).toBe(true);
    expect(edVerify(null, Buffer.from(`evt_9.${h['webhook-timestamp']}.{"a":2}`), pub, sig)).toBe(false);
  });

  it('accepts a PKCS#8 PEM key and refuses a non-Ed25519 one', () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(typeof ed25519Key(pem)).not.toBe('string');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    expect(ed25519Key(ec)).toBe('is a ec key, not Ed25519');
  });
});

describe('WSS_SECRETS_KEY and secrets at rest', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  it('parses "<id>:<base64 32 bytes>" entries and refuses bad ones without quoting them', () => {
    const c = parseConfig({ WSS_SECRETS_KEY: `k2:${k2.toString('base64')}, k1:${k1.toString('base64')}` });
    expect(c.secretsKeys!.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(parseConfig({}).secretsKeys).toBeUndefined();
    const short = randomBytes(16).toString('base64');
    expect(() => parseConfig({ WSS_SECRETS_KEY: `k1:${short}` })).toThrow(
      /WSS_SECRETS_KEY: entry 1: expected <key id>:<base64 of 32 random bytes>/,
    );
    try {
      parseConfig({ WSS_SECRETS_KEY: `k1:${short}` });
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
    expect(() => parseConfig({ WSS_SECRETS_KEY: `a:${k1.toString('base64')},a:${k2.toString('base64')}` })).toThrow(
      'key id "a" appears twice',
    );
  });

  it('AES-256-GCM with the key id beside the ciphertext, bound to the endpoint', () => {
    const keys = [{ id: 'k1', key: k1 }];
    const enc = encryptSecret(keys, 'acme/orders', OLD);
    expect(enc).toMatch(/^wss-enc:v1:k1:/);
    expect(enc).not.toContain(OLD);
    expect(decryptSecret(keys, 'acme/orders', enc)).toBe(OLD);
    expect(decryptSecret(keys, 'acme/other', enc)).toBeUndefined();
    expect(decryptSecret([{ id: 'k1', key: k2 }], 'acme/orders', enc)).toBeUndefined();
    expect(
      decryptSecret(
        [
          { id: 'k2', key: k2 },
          { id: 'k1', key: k1 },
        ],
        'acme/orders',
        enc,
      ),
    ).toBe(OLD);
  });

  it('encodes every inline secret, current and previous; without the key the value stays encrypted and signing reports SECRET_UNAVAILABLE', () => {
    const keys = [{ id: 'k1', key: k1 }];
    const ep = rotateSecret(parseEndpoint({ ...base, secret: OLD }), { secret: NEW }, 3_600_000, Date.now(), 'acme');
    const json = encodeEndpoint(ep, 'acme/orders', keys, Date.now());
    expect(json).not.toContain(OLD);
    expect(json).not.toContain(NEW);
    expect(decodeEndpoint(json, 'acme/orders', keys)).toEqual(ep);
    const locked = decodeEndpoint(json, 'acme/orders', undefined);
    expect(() => prepareSigner(locked, () => undefined, 'acme')).toThrow(
      /SECRET_UNAVAILABLE|encrypted with key id "k1", which WSS_SECRETS_KEY does not hold/,
    );
    // Expired previous secrets are dropped on write.
    expect(encodeEndpoint(ep, 'acme/orders', undefined, Date.now() + 3_600_001)).not.toContain(OLD);
  });
});
