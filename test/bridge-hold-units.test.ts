// Hold-back's decisions (src/producers/hold.ts), pure: which messages are held, in which order
// they come back, the hysteresis, the byte budget.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { Hold, holdKey } from '../src/producers/hold.js';
import type { SourceMessage } from '../src/producers/sources/source.js';

let n = 0;
function msg(tenant: string, extra: Record<string, string> = {}): SourceMessage {
  const id = `${++n}-0`;
  return { id, fields: { tenant, type: 't', data: '{}', ...extra }, defaultEventId: id, createdAtMs: n };
}
const ids = (list: readonly SourceMessage[]) => list.map((m) => m.id);
const lags = (o: Record<string, number>) => new Map(Object.entries(o));

describe('Hold', () => {
  it('holds a tenant over holdAfter and lets other tenants through, in their order', () => {
    const hold = new Hold({ holdAfter: 10, maxBytes: 1 << 20 });
    const batch = [msg('big'), msg('small'), msg('big'), msg('other')];
    const out = hold.admit(batch, lags({ big: 11, small: 3 }));
    expect(ids(out)).toEqual([batch[1]!.id, batch[3]!.id]);
    expect(hold.size).toBe(2);
    expect(hold.has(batch[0]!.id)).toBe(true);
    expect(hold.oldest).toBe(batch[0]!.id);
    expect(hold.keys()).toEqual(['big']);
  });

  it("counts the batch's own messages towards the lag", () => {
    const hold = new Hold({ holdAfter: 5, maxBytes: 1 << 20 });
    const batch = Array.from({ length: 10 }, () => msg('big'));
    const out = hold.admit(batch, lags({ big: 2 }));
    // 2 queued + 4 admitted = 6 > 5: the fifth on waits.
    expect(ids(out)).toEqual(ids(batch.slice(0, 4)));
    expect(hold.size).toBe(6);
  });

  it('holds every later message of a held tenant behind the first, even when its lag drops', () => {
    const hold = new Hold({ holdAfter: 10, maxBytes: 1 << 20 });
    const first = msg('big');
    hold.admit([first], lags({ big: 20 }));
    const later = msg('big');
    expect(hold.admit([later], lags({ big: 0 }))).toEqual([]);
    // Released together, oldest first.
    expect(ids(hold.release(lags({ big: 0 }), 100))).toEqual([first.id, later.id]);
    expect(hold.size).toBe(0);
  });

  it('releases only under holdAfter / 2 (hysteresis), at most holdAfter - lag and max at a time, oldest first across tenants', () => {
    const hold = new Hold({ holdAfter: 10, maxBytes: 1 << 20 });
    const a = Array.from({ length: 12 }, () => msg('a'));
    const b = Array.from({ length: 3 }, () => msg('b'));
    hold.admit([...a.slice(0, 6), ...b, ...a.slice(6)], lags({ a: 11, b: 11 }));
    expect(hold.size).toBe(15);
    // Between the marks: still held.
    expect(hold.release(lags({ a: 7, b: 6 }), 100)).toEqual([]);
    // a under 5: up to 10 - 4 = 6 of a; b still between the marks.
    expect(ids(hold.release(lags({ a: 4, b: 6 }), 100))).toEqual(ids(a.slice(0, 6)));
    // Both free, max 4: the oldest four across both tenants (b's were read before a's rest).
    expect(ids(hold.release(lags({ a: 0, b: 0 }), 4))).toEqual([...ids(b), a[6]!.id]);
    // Over holdAfter again: held again.
    expect(hold.release(lags({ a: 11 }), 100)).toEqual([]);
    expect(hold.release(lags({ a: 9 }), 100)).toEqual([]);
    expect(ids(hold.release(lags({ a: 1 }), 100))).toEqual(ids(a.slice(7)));
    expect(hold.size).toBe(0);
    expect(hold.bytes).toBe(0);
  });

  it('never holds high-priority, tenant-less or malformed messages', () => {
    const hold = new Hold({ holdAfter: 1, maxBytes: 1 << 20 });
    const high = msg('big', { priority: 'high' });
    const none: SourceMessage = { ...msg('x'), fields: { type: 't' } };
    const bad: SourceMessage = { ...msg('big'), malformed: 'not JSON' };
    const gone: SourceMessage = { ...msg('big'), fields: null };
    expect(holdKey(high)).toBeUndefined();
    expect(hold.admit([high, none, bad, gone], lags({ big: 100 }))).toHaveLength(4);
    expect(hold.size).toBe(0);
  });

  it('is full past its byte budget and counts bytes back down as messages go', () => {
    const hold = new Hold({ holdAfter: 4, maxBytes: 2_000 });
    const big = Array.from({ length: 5 }, () => msg('big', { data: 'x'.repeat(300) }));
    hold.admit(big.slice(0, 2), lags({ big: 5 }));
    expect(hold.full).toBe(false);
    hold.admit(big.slice(2), lags({ big: 5 }));
    expect(hold.full).toBe(true);
    expect(hold.size).toBe(5);
    hold.release(lags({ big: 0 }), 3);
    expect(hold.full).toBe(false);
    expect(hold.size).toBe(2);
  });

  it('retains only the messages still ours, and clears', () => {
    const hold = new Hold({ holdAfter: 1, maxBytes: 1 << 20 });
    const list = [msg('a'), msg('a'), msg('b')];
    hold.admit(list, lags({ a: 5, b: 5 }));
    expect(hold.retain(new Set([list[1]!.id]), hold.messages())).toBe(2);
    expect(ids(hold.messages())).toEqual([list[1]!.id]);
    expect(hold.keys()).toEqual(['a']);
    hold.clear();
    expect(hold.size).toBe(0);
    expect(hold.oldest).toBeUndefined();
    // A cleared tenant is not held any more.
    expect(hold.admit([msg('a')], lags({ a: 0 }))).toHaveLength(1);
  });
});

describe('settings', () => {
  it('holds after 2,000 queued jobs within 64 MiB by default; 0 turns hold-back off; a bad value is named', () => {
    expect(parseConfig({}).bridge).toMatchObject({ holdAfter: 2_000, holdMaxBytes: 64 * 1024 * 1024 });
    expect(parseConfig({ WSS_HOLD_AFTER: '0' }).bridge.holdAfter).toBe(0);
    expect(() => parseConfig({ WSS_HOLD_AFTER: '-1' })).toThrow(/WSS_HOLD_AFTER/);
    expect(() => parseConfig({ WSS_HOLD_MAX_BYTES: '10' })).toThrow(/WSS_HOLD_MAX_BYTES/);
  });
});
