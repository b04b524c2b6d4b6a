// What an HTTP outcome means for a delivery. Pure: the worker turns the verdict into a
// return value (delivered) or a DeliveryError (BullMQ retries or gives up).
import { parseRetryAfter } from './retry-after.js';

export type Verdict =
  | { kind: 'delivered' }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'give-up'; reason: string }
  | { kind: 'disable'; reason: string };

export interface StatusInput {
  status: number;
  retryAfter?: string | undefined;
  nowMs: number;
  retryAfterMaxMs: number;
}

export function classifyStatus({ status, retryAfter, nowMs, retryAfterMaxMs }: StatusInput): Verdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'disable', reason: 'HTTP 410 Gone: endpoint disabled' };
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(retryAfter, nowMs, retryAfterMaxMs);
    const reason = `HTTP ${status}`;
    return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
  }
  if (status === 408 || status >= 500) return { kind: 'retry', reason: `HTTP ${status}` };
  if (status >= 300 && status < 400) return { kind: 'give-up', reason: `HTTP ${status}: redirects are not followed` };
  return { kind: 'give-up', reason: `HTTP ${status}` };
}
