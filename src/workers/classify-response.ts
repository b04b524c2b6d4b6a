// What an HTTP status means for a delivery, in the outcome words of src/lib/errors.ts. Pure: the
// attempt returns a result (delivered) or throws a DeliveryError carrying the outcome.
import type { Outcome } from '../lib/errors.js';
import { parseRetryAfter } from './retry-after.js';

type Verdict =
  | { outcome: 'delivered' }
  | { outcome: 'retry'; reason: string; retryAfterMs?: number }
  | { outcome: Exclude<Outcome, 'delivered' | 'retry'>; reason: string };

interface StatusInput {
  status: number;
  retryAfter?: string | undefined;
  nowMs: number;
  retryAfterMaxMs: number;
}

export function classifyStatus({ status, retryAfter, nowMs, retryAfterMaxMs }: StatusInput): Verdict {
  if (status >= 200 && status < 300) return { outcome: 'delivered' };
  if (status === 410) return { outcome: 'disabled', reason: 'HTTP 410 Gone: endpoint disabled' };
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(retryAfter, nowMs, retryAfterMaxMs);
    const reason = `HTTP ${status}`;
    return retryAfterMs === undefined ? { outcome: 'retry', reason } : { outcome: 'retry', reason, retryAfterMs };
  }
  if (status === 408 || status >= 500) return { outcome: 'retry', reason: `HTTP ${status}` };
  if (status >= 300 && status < 400) return { outcome: 'failed', reason: `HTTP ${status}: redirects are not followed` };
  return { outcome: 'failed', reason: `HTTP ${status}` };
}
