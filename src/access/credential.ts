// The secrets tenant access hands out (API tokens, portal link codes, session ids): 256 random
// bits, base64url, behind a short prefix that says what they are (so a leaked one is easy to
// recognise and to scan for). Only their SHA-256 is stored. A slow password hash (scrypt,
// argon2) protects low-entropy passwords against guessing from a stolen hash; against 256
// random bits a single SHA-256 already leaves nothing to guess; a slow hash would only add its
// delay to every request.
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'wsst_';
export const LINK_PREFIX = 'wssl_';
export const SESSION_PREFIX = 'wsss_';

// base64url of 32 bytes is 43 characters.
const SHAPE = /^(wsst|wssl|wsss)_[A-Za-z0-9_-]{43}$/;

/** A fresh secret: `prefix` + 43 base64url characters (32 random bytes). */
export function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Whether `text` has the shape of a secret with this prefix (checked before any lookup). */
export function looksLike(text: string, prefix: string): boolean {
  return text.startsWith(prefix) && SHAPE.test(text);
}

/** The stored form: hex SHA-256. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A public id for logs and listings, unrelated to the secret: `prefix` + 12 hex characters. */
export function newId(prefix: string): string {
  return prefix + randomBytes(6).toString('hex');
}
