import { createHmac } from 'node:crypto';

/**
 * The X-WSS-Signature value: hex HMAC-SHA256 keyed with the secret's UTF-8 bytes over the
 * timestamp string immediately followed by the raw body bytes.
 */
export function sign(secret: string, timestamp: number | string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(String(timestamp)).update(body).digest('hex');
}

/** Unix seconds, the unit of X-WSS-Timestamp. */
export function unixSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}
