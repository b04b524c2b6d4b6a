// Receiver-side verification. Self-contained (node:crypto only) so a third party can copy
// this file as it is or import it from the package: `webhook-sender/verify`. That is why it
// computes the HMAC itself instead of calling src/signing/sign.ts: the duplicate is deliberate,
// and test/signing-hmac.test.ts checks the two agree.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type VerifyErrorCode =
  | 'MISSING_SECRET'
  | 'MISSING_TIMESTAMP'
  | 'MISSING_SIGNATURE'
  | 'MALFORMED_TIMESTAMP'
  | 'MALFORMED_SIGNATURE'
  | 'TIMESTAMP_TOO_OLD'
  | 'TIMESTAMP_IN_FUTURE'
  | 'SIGNATURE_MISMATCH';

export class WebhookVerificationError extends Error {
  readonly code: VerifyErrorCode;
  constructor(code: VerifyErrorCode, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.code = code;
  }
}

export interface VerifyInput {
  /** Your secret; during your own rotation, every secret you accept. */
  secret: string | readonly string[];
  /** The raw request body, exactly as received (do not re-serialise parsed JSON). */
  body: string | Uint8Array;
  /** The X-WSS-Timestamp header (unix seconds). */
  timestamp: string | null | undefined;
  /**
   * The X-WSS-Signature header: 64 hex digits, or during a secret rotation several of them
   * separated by spaces (one per active secret, newest first). One match is enough.
   */
  signature: string | null | undefined;
  /** Accepted clock difference either way, in seconds. */
  toleranceSec?: number;
  /** Milliseconds since the epoch; defaults to Date.now. */
  now?: () => number;
}

const TIMESTAMP = /^\d{1,15}$/;
const SIGNATURE = /^[0-9a-fA-F]{64}( [0-9a-fA-F]{64}){0,9}$/;

/** Returns true for an authentic, fresh request; throws WebhookVerificationError otherwise. */
export function verifySignature(input: VerifyInput): true {
  const { secret, body, timestamp, signature, toleranceSec = 300, now = Date.now } = input;
  const secrets = (typeof secret === 'string' ? [secret] : [...(secret ?? [])]).filter((s) => s !== '');
  if (secrets.length === 0) throw new WebhookVerificationError('MISSING_SECRET', 'no secret configured');
  if (timestamp === null || timestamp === undefined || timestamp === '') {
    throw new WebhookVerificationError('MISSING_TIMESTAMP', 'missing X-WSS-Timestamp header');
  }
  if (signature === null || signature === undefined || signature === '') {
    throw new WebhookVerificationError('MISSING_SIGNATURE', 'missing X-WSS-Signature header');
  }
  if (!TIMESTAMP.test(timestamp)) {
    throw new WebhookVerificationError('MALFORMED_TIMESTAMP', 'X-WSS-Timestamp is not unix seconds');
  }
  if (!SIGNATURE.test(signature)) {
    throw new WebhookVerificationError(
      'MALFORMED_SIGNATURE',
      'X-WSS-Signature is not 64 hex digits (or up to 10 such, space-separated)',
    );
  }
  const age = Math.floor(now() / 1000) - Number(timestamp);
  if (age > toleranceSec) {
    throw new WebhookVerificationError('TIMESTAMP_TOO_OLD', `timestamp is ${age}s old (tolerance ${toleranceSec}s)`);
  }
  if (-age > toleranceSec) {
    throw new WebhookVerificationError(
      'TIMESTAMP_IN_FUTURE',
      `timestamp is ${-age}s ahead (tolerance ${toleranceSec}s)`,
    );
  }
  const given = signature.split(' ').map((s) => Buffer.from(s, 'hex'));
  let ok = false;
  // Every pair is compared (no early exit), so the time taken does not tell which one matched.
  for (const s of secrets) {
    const expected = createHmac('sha256', s).update(timestamp).update(body).digest();
    for (const g of given) ok = timingSafeEqual(expected, g) || ok;
  }
  if (!ok) throw new WebhookVerificationError('SIGNATURE_MISMATCH', 'signature does not match');
  return true;
}
