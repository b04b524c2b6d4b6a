// Endpoint secrets at rest (WSS_SECRETS_KEY): AES-256-GCM, one value at a time, as
// `wss-enc:v1:<key id>:<base64 iv|tag|ciphertext>`. The key id beside the ciphertext lets the
// key rotate: list the new key first and the old one after it, run `wss secrets reencrypt`,
// then drop the old one. The endpoint's tenant/id is the additional data, so a ciphertext
// copied onto another endpoint does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretsKey } from '../config.js';

const PREFIX = 'wss-enc:v1:';

export function isEncrypted(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** The key id an encrypted value names, or undefined for plain text. */
export function keyIdOf(value: string): string | undefined {
  if (!isEncrypted(value)) return undefined;
  return value.slice(PREFIX.length).split(':', 1)[0];
}

export function encryptSecret(keys: readonly SecretsKey[], aad: string, plain: string): string {
  const k = keys[0]!;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', k.key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `${PREFIX}${k.id}:${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64')}`;
}

/** The plain text, or undefined when no listed key has the value's id or it does not authenticate. */
export function decryptSecret(keys: readonly SecretsKey[] | undefined, aad: string, value: string): string | undefined {
  const rest = value.slice(PREFIX.length);
  const colon = rest.indexOf(':');
  const k = keys?.find((x) => x.id === rest.slice(0, colon));
  if (!k) return undefined;
  const raw = Buffer.from(rest.slice(colon + 1), 'base64');
  if (raw.length < 28) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', k.key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
