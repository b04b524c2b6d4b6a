// Key material per signature scheme: what a valid secret looks like, how it becomes a key,
// and how a new one is generated. Problems are described without ever quoting the value.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

export const SCHEMES = ['wss', 'standard-webhooks', 'standard-webhooks-ed25519'] as const;
export type Scheme = (typeof SCHEMES)[number];

/** Active secrets per endpoint, the newest included (as Svix: one current key and up to 9 old ones). */
export const MAX_ACTIVE_SECRETS = 10;

const WHSEC = 'whsec_';
const WHSK = 'whsk_';
const WHPK = 'whpk_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// PKCS#8 DER of an Ed25519 private key is this prefix followed by the 32-byte seed.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function base64Bytes(text: string): Buffer | undefined {
  if (!BASE64.test(text) || text.length % 4 !== 0) return undefined;
  return Buffer.from(text, 'base64');
}

/** The HMAC key of a Standard Webhooks secret (`whsec_` + base64 of 24 to 64 bytes), or a reason. */
export function whsecKey(secret: string): Buffer | string {
  if (!secret.startsWith(WHSEC)) return 'must start with "whsec_" (Standard Webhooks secret)';
  const bytes = base64Bytes(secret.slice(WHSEC.length));
  if (bytes === undefined) return 'is not valid base64 after "whsec_"';
  if (bytes.length < 24 || bytes.length > 64) return `decodes to ${bytes.length} bytes (must be 24 to 64)`;
  return bytes;
}

/** An Ed25519 private key: `whsk_` + base64 of the 32-byte seed (or seed + public key, 64 bytes), or PKCS#8 PEM. */
export function ed25519Key(secret: string): KeyObject | string {
  if (secret.startsWith(WHSK)) {
    const bytes = base64Bytes(secret.slice(WHSK.length));
    if (bytes === undefined) return 'is not valid base64 after "whsk_"';
    if (bytes.length !== 32 && bytes.length !== 64)
      return `decodes to ${bytes.length} bytes (an Ed25519 key is a 32-byte seed, or 64 bytes seed + public key)`;
    try {
      return createPrivateKey({
        key: Buffer.concat([ED25519_PKCS8_PREFIX, bytes.subarray(0, 32)]),
        format: 'der',
        type: 'pkcs8',
      });
    } catch {
      return 'is not an Ed25519 private key';
    }
  }
  if (secret.includes('-----BEGIN')) {
    try {
      const key = createPrivateKey({ key: secret, format: 'pem' });
      return key.asymmetricKeyType === 'ed25519'
        ? key
        : `is a ${key.asymmetricKeyType ?? 'non-Ed25519'} key, not Ed25519`;
    } catch {
      return 'is a PEM block that does not parse as a private key';
    }
  }
  return 'must be an Ed25519 private key: "whsk_" + base64 of the 32-byte seed, or a PKCS#8 PEM block';
}

/** Why `secret` cannot sign under `scheme`, or undefined when it can. */
export function secretProblem(scheme: Scheme, secret: string): string | undefined {
  switch (scheme) {
    case 'wss':
      return secret.length < 16 ? 'must be at least 16 characters' : undefined;
    case 'standard-webhooks': {
      const k = whsecKey(secret);
      return typeof k === 'string' ? k : undefined;
    }
    case 'standard-webhooks-ed25519': {
      const k = ed25519Key(secret);
      return typeof k === 'string' ? k : undefined;
    }
  }
}

/** A fresh secret for `scheme`: 32 random bytes in the scheme's format. */
export function generateSecret(scheme: Scheme): string {
  switch (scheme) {
    case 'wss':
      return randomBytes(32).toString('base64url');
    case 'standard-webhooks':
      return `${WHSEC}${randomBytes(32).toString('base64')}`;
    case 'standard-webhooks-ed25519': {
      const der = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });
      return `${WHSK}${der.subarray(der.length - 32).toString('base64')}`;
    }
  }
}

/** The public half of an Ed25519 private key, as Standard Webhooks `whpk_` text and as SPKI PEM. */
export function publicKeyOf(privateKey: KeyObject): { publicKey: string; pem: string } {
  const pub = createPublicKey(privateKey);
  const der = pub.export({ format: 'der', type: 'spki' });
  return {
    publicKey: `${WHPK}${der.subarray(der.length - 32).toString('base64')}`,
    pem: String(pub.export({ format: 'pem', type: 'spki' })),
  };
}
