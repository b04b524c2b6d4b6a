// The `wss` scheme's signature, in one place: the worker's signer (signer.ts) signs every
// attempt with it, `wss sign` prints it, and the package exports it (src/index.ts). The receiver's
// check in src/verify/ computes the same HMAC on its own, on purpose (see there).
import { createHmac } from 'node:crypto';

/**
 * The X-WSS-Signature value: hex HMAC-SHA256 keyed with the secret's UTF-8 bytes (or the bytes
 * given) over the timestamp string immediately followed by the raw body bytes.
 */
export function sign(secret: string | Uint8Array, timestamp: number | string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(String(timestamp)).update(body).digest('hex');
}

/** Unix seconds, the unit of X-WSS-Timestamp. */
export function unixSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}
