// Ordering-key suites (docs/ordering.md): a receiver that records, per ordering key, which event
// each request carried and whether it was answered 2xx, and the checks every suite makes:
// a request for event i of a key arrives only after events 0..i-1 of that key ended, and the
// sequences of a key's successful deliveries strictly increase.
import { expect } from 'vitest';
import { startReceiver, type Receiver, type Reply } from './receiver.js';

export interface Hit {
  /** The event's key as the test published it (`data.k`). */
  key: string | undefined;
  /** X-WSS-Ordering-Key, decoded. */
  headerKey: string | undefined;
  seq: number | undefined;
  i: number;
  status: number;
  at: number;
  path: string;
}

export interface OrderReceiver {
  rx: Receiver;
  hits: Hit[];
  ok(key?: string): Hit[];
}

/** `reply(hit)` decides each answer; the hit is recorded with that status. */
export async function orderReceiver(
  reply: (h: Omit<Hit, 'status' | 'at' | 'path'>, path: string) => Reply,
): Promise<OrderReceiver> {
  const hits: Hit[] = [];
  const rx = await startReceiver((req) => {
    const key = req.headers['x-wss-ordering-key'];
    const seq = req.headers['x-wss-sequence'];
    const body = JSON.parse(req.body) as { data: { i: number; k?: string } };
    const h = {
      key: body.data.k,
      headerKey: typeof key === 'string' ? decodeURIComponent(key) : undefined,
      seq: typeof seq === 'string' ? Number(seq) : undefined,
      i: body.data.i,
    };
    const r = reply(h, req.path);
    hits.push({ ...h, status: r.status, at: Date.now(), path: req.path });
    return r;
  });
  return { rx, hits, ok: (key) => hits.filter((h) => h.status < 300 && (key === undefined || h.key === key)) };
}

/**
 * Per key: a request for event i comes only once every earlier event of the key succeeded or was
 * `given up` (failed for good: continue); successful sequences strictly increase.
 */
export function expectKeyOrder(hits: readonly Hit[], key: string, givenUp: ReadonlySet<number> = new Set()): void {
  let next = 0;
  const seqs: number[] = [];
  for (const h of hits) {
    if (h.key !== key) continue;
    while (givenUp.has(next)) next++;
    // A repeat of an event already delivered (at least once) is allowed; a later one is not.
    expect(h.i, `key ${key}: event ${h.i} sent while event ${next} had not ended`).toBeLessThanOrEqual(next);
    if (h.status < 300) {
      if (h.i === next) next++;
      seqs.push(h.seq!);
    }
  }
  for (let k = 1; k < seqs.length; k++) expect(seqs[k]!).toBeGreaterThanOrEqual(seqs[k - 1]!);
  expect(seqs.length).toBeGreaterThan(0);
  expect(hits.every((h) => h.key !== key || h.headerKey === key)).toBe(true);
}
