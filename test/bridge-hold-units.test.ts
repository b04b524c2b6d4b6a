// Hold-back's decisions (src/producers/h.ts), pure: which messages are held, in which order
// they come back, the hysteresis, the byte budget; and the routing it keys messages by
// (hold-reader.ts routeByType: the flows planning would give them).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { Hold, type KeysOf } from '../src/producers/hold.js';
import { holdReleaseMax, routeByType } from '../src/producers/hold-reader.js';
import { compileEndpoint } from '../src/tenants/compile.js';
import { parseEndpoint } from '../src/tenants/schema.js';
import type { SourceMessage } from '../src/producers/sources/source.js';

let n = 0;
/** Test keys: the flows in `to` (comma-separated), else the tenant. */
const keysOf: KeysOf = (m) => (m.fields?.['to'] ?? m.fields?.['tenant'] ?? '').split(',').filter(Boolean);
const hold = (holdAfter: number, maxBytes = 1 << 20) => new Hold({ holdAfter, maxBytes }, keysOf);
function msg(tenant: string, extra: Record<string, string> = {}): SourceMessage {
  const id = `${++n}-0`;
  return { id, fields: { tenant, type: 't', data: '{}', ...extra }, defaultEventId: id, createdAtMs: n };
}
const ids = (list: readonly SourceMessage[]) => list.map((m) => m.id);
const lags = (o: Record<string, number>) => new Map(Object.entries(o));

describe('Hold', () => {
  it('holds a tenant over holdAfter and lets other tenants through, in their order', () => {
    const h = hold(10);
    const batch = [msg('big'), msg('small'), msg('big'), msg('other')];
    const out = h.admit(batch, lags({ big: 11, small: 3 }));
    expect(ids(out)).toEqual([batch[1]!.id, batch[3]!.id]);
    expect(h.size).toBe(2);
    expect(h.has(batch[0]!.id)).toBe(true);
    expect(h.oldest).toBe(batch[0]!.id);
    expect(h.keys()).toEqual(['big']);
  });

  it("counts the batch's own messages towards the lag", () => {
    const h = hold(5);
    const batch = Array.from({ length: 10 }, () => msg('big'));
    const out = h.admit(batch, lags({ big: 2 }));
    // 2 queued + 4 admitted = 6 > 5: the fifth on waits.
    expect(ids(out)).toEqual(ids(batch.slice(0, 4)));
    expect(h.size).toBe(6);
  });

  it('holds every later message of a held tenant behind the first, even when its lag drops', () => {
    const h = hold(10);
    const first = msg('big');
    h.admit([first], lags({ big: 20 }));
    const later = msg('big');
    expect(h.admit([later], lags({ big: 0 }))).toEqual([]);
    // Released together, oldest first.
    expect(ids(h.release(lags({ big: 0 }), 100))).toEqual([first.id, later.id]);
    expect(h.size).toBe(0);
  });

  it('releases only under holdAfter / 2 (hysteresis), at most holdAfter - lag and max at a time, oldest first across tenants', () => {
    const h = hold(10);
    const a = Array.from({ length: 12 }, () => msg('a'));
    const b = Array.from({ length: 3 }, () => msg('b'));
    h.admit([...a.slice(0, 6), ...b, ...a.slice(6)], lags({ a: 11, b: 11 }));
    expect(h.size).toBe(15);
    // Between the marks: still held.
    expect(h.release(lags({ a: 7, b: 6 }), 100)).toEqual([]);
    // a under 5: up to 10 - 4 = 6 of a; b still between the marks.
    expect(ids(h.release(lags({ a: 4, b: 6 }), 100))).toEqual(ids(a.slice(0, 6)));
    // Both free, max 4: the oldest four across both tenants (b's were read before a's rest).
    expect(ids(h.release(lags({ a: 0, b: 0 }), 4))).toEqual([...ids(b), a[6]!.id]);
    // Over holdAfter again: held again.
    expect(h.release(lags({ a: 11 }), 100)).toEqual([]);
    expect(h.release(lags({ a: 9 }), 100)).toEqual([]);
    expect(ids(h.release(lags({ a: 1 }), 100))).toEqual(ids(a.slice(7)));
    expect(h.size).toBe(0);
    expect(h.bytes).toBe(0);
  });

  it('keys a message by its flows: a slow flow holds only what is bound for it, and what shares a flow with it stays behind', () => {
    const h = hold(10);
    const slow1 = msg('acme', { to: 'acme/slow' });
    const fast1 = msg('acme', { to: 'acme/fast' });
    const both = msg('acme', { to: 'acme/slow,acme/fast' });
    const fast2 = msg('acme', { to: 'acme/fast' });
    const none = msg('acme', { to: ',' });
    const out = h.admit([slow1, fast1, both, fast2, none], lags({ 'acme/slow': 50 }));
    // fast2 waits behind `both`, which is bound for the slow flow too: acme/fast's order holds.
    expect(ids(out)).toEqual([fast1.id, none.id]);
    expect(h.keys().sort()).toEqual(['acme/fast', 'acme/slow']);
    // The slow flow still over the mark: nothing bound for it goes, nor what is behind it.
    expect(h.release(lags({ 'acme/slow': 50 }), 100)).toEqual([]);
    expect(ids(h.release(lags({ 'acme/slow': 2 }), 100))).toEqual([slow1.id, both.id, fast2.id]);
  });

  it('routes by type as planning does: enabled endpoints subscribed to it; never high, unknown tenants or unreadable ones', () => {
    const endpoints = [
      { id: 'orders', url: 'https://example.com/o', events: ['order.*'] },
      { id: 'all', url: 'https://example.com/a' },
      { id: 'off', url: 'https://example.com/x', enabled: false },
    ].map((e) => compileEndpoint(parseEndpoint({ ...e, secret: 'secret-0123456789abcdef' })));
    const route = routeByType((t) => (t === 'acme' ? endpoints : undefined));
    const flows = (m: SourceMessage) => route(m).map((f) => `${f.tenant}/${f.endpoint}`);
    expect(flows(msg('acme', { type: 'order.paid' }))).toEqual(['acme/orders', 'acme/all']);
    expect(flows(msg('acme', { type: 'user.made' }))).toEqual(['acme/all']);
    expect(flows(msg('acme', { type: 'order.paid', priority: 'high' }))).toEqual([]);
    expect(flows(msg('other', { type: 'order.paid' }))).toEqual([]);
    expect(flows({ ...msg('acme'), malformed: 'not JSON' })).toEqual([]);
    expect(flows({ ...msg('acme'), fields: null })).toEqual([]);
  });

  it('is full past its byte budget and counts bytes back down as messages go', () => {
    const h = hold(4, 5_000);
    const big = Array.from({ length: 5 }, () => msg('big', { data: 'x'.repeat(300) }));
    h.admit(big.slice(0, 2), lags({ big: 5 }));
    expect(h.full).toBe(false);
    h.admit(big.slice(2), lags({ big: 5 }));
    expect(h.full).toBe(true);
    expect(h.size).toBe(5);
    h.release(lags({ big: 0 }), 3);
    expect(h.full).toBe(false);
    expect(h.size).toBe(2);
  });

  it('by id only: held messages keep no fields and count a fixed small size', () => {
    const h = new Hold({ holdAfter: 4, maxBytes: 1_000, idsOnly: true }, keysOf);
    const big = Array.from({ length: 4 }, () => msg('big', { data: 'x'.repeat(10_000) }));
    h.admit(big, lags({ big: 5 }));
    expect(h.size).toBe(4);
    expect(h.full).toBe(true);
    expect(h.bytes).toBe(1_024);
    const out = h.release(lags({ big: 0 }), 2);
    expect(out.map((m) => [m.id, m.fields])).toEqual([
      [big[0]!.id, null],
      [big[1]!.id, null],
    ]);
    expect(h.full).toBe(false);
  });

  it('flush: what was held when an ordered message came goes oldest first, max at a time, whatever the lags; later holds stay', () => {
    const h = hold(2);
    const big = Array.from({ length: 5 }, () => msg('big'));
    h.admit(big, lags({ big: 10 }));
    expect(h.release(lags({ big: 10 }), 100)).toEqual([]);
    h.flush();
    expect(h.flushing).toBe(true);
    // Held after the flush began: not part of it.
    const later = msg('big');
    h.admit([later], lags({ big: 10 }));
    expect(ids(h.release(lags({ big: 10 }), 2))).toEqual(ids(big.slice(0, 2)));
    expect(ids(h.release(lags({ big: 10 }), 2))).toEqual(ids(big.slice(2, 4)));
    expect(ids(h.release(lags({ big: 10 }), 2))).toEqual([big[4]!.id]);
    expect(h.flushing).toBe(false);
    // Back to the lag rule: still over holdAfter, so `later` stays held.
    expect(h.release(lags({ big: 10 }), 100)).toEqual([]);
    expect(ids(h.messages())).toEqual([later.id]);
  });

  it('flush ends when its last message is no longer held, and with nothing held there is none', () => {
    const h = hold(1);
    h.flush();
    expect(h.flushing).toBe(false);
    const list = [msg('a'), msg('a'), msg('a')];
    h.admit(list, lags({ a: 5 }));
    h.flush();
    // The flush's last message was taken over by another bridge.
    h.retain(new Set([list[0]!.id, list[1]!.id]), h.messages());
    expect(ids(h.release(lags({ a: 5 }), 100))).toEqual(ids(list.slice(0, 2)));
    expect(h.flushing).toBe(false);
  });

  it('retains only the messages still ours, and clears', () => {
    const h = hold(1);
    const list = [msg('a'), msg('a'), msg('b')];
    h.admit(list, lags({ a: 5, b: 5 }));
    expect(h.retain(new Set([list[1]!.id]), h.messages())).toBe(2);
    expect(ids(h.messages())).toEqual([list[1]!.id]);
    expect(h.keys()).toEqual(['a']);
    h.clear();
    expect(h.size).toBe(0);
    expect(h.oldest).toBeUndefined();
    // A cleared tenant is not held any more.
    expect(h.admit([msg('a')], lags({ a: 0 }))).toHaveLength(1);
  });
});

describe('settings', () => {
  it('holds after 2,000 queued jobs within 64 MiB by default; 0 turns hold-back off; a bad value is named', () => {
    expect(parseConfig({}).bridge).toMatchObject({ holdAfter: 2_000, holdMaxBytes: 64 * 1024 * 1024 });
    expect(parseConfig({ WSS_HOLD_AFTER: '0' }).bridge.holdAfter).toBe(0);
    expect(() => parseConfig({ WSS_HOLD_AFTER: '-1' })).toThrow(/WSS_HOLD_AFTER/);
    expect(() => parseConfig({ WSS_HOLD_MAX_BYTES: '10' })).toThrow(/WSS_HOLD_MAX_BYTES/);
  });

  it('releases a twentieth of WSS_HOLD_AFTER per batch (100 by default), at most a batch, at least one', () => {
    const { holdAfter, batchSize } = parseConfig({}).bridge;
    expect(holdReleaseMax(holdAfter, batchSize)).toBe(100);
    expect(holdReleaseMax(2_000, 40)).toBe(40);
    expect(holdReleaseMax(100_000, 500)).toBe(500);
    expect(holdReleaseMax(30, 500)).toBe(2);
    expect(holdReleaseMax(1, 500)).toBe(1);
  });
});
