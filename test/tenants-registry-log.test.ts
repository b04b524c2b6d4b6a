// The change log's pure part: payload encoding and how a process decides between catching up
// through the log and reloading in full.
import { describe, expect, it } from 'vitest';
import {
  catchUp,
  decodeChange,
  encodeChange,
  MAX_KEYS_PER_CHANGE,
  parseLogEntries,
  registryKeys,
} from '../src/tenants/registry-log.js';
import { keySlot } from '../src/redis/shards.js';

const entry = (version: number, t: string[], e: string[]) => ({ version, change: { tenants: t, endpoints: e } });

describe('registry change log', () => {
  it('encodes a change as the keys it names, and a large or replacing one as a reset', () => {
    expect(encodeChange({ tenants: ['acme'], endpoints: ['acme/orders'] })).toBe('{"t":["acme"],"e":["acme/orders"]}');
    expect(encodeChange('reset')).toBe('{"reset":true}');
    const many = Array.from({ length: MAX_KEYS_PER_CHANGE + 1 }, (_, i) => `t/e${i}`);
    expect(encodeChange({ tenants: [], endpoints: many })).toBe('{"reset":true}');
    expect(decodeChange('{"t":["acme"],"e":["acme/orders"]}')).toEqual({
      tenants: ['acme'],
      endpoints: ['acme/orders'],
    });
  });

  it('reads anything it does not understand as a reset', () => {
    for (const bad of [undefined, '', 'not json', '{"t":"acme","e":[]}', '{"t":[1],"e":[]}', '{"reset":true}'])
      expect(decodeChange(bad)).toBe('reset');
  });

  it('parses XRANGE replies: the entry id is the version', () => {
    expect(
      parseLogEntries([
        ['42-0', ['c', '{"t":[],"e":["a/b"]}']],
        ['43-0', ['x', 'y']],
      ]),
    ).toEqual([entry(42, [], ['a/b']), { version: 43, change: 'reset' }]);
  });

  it('catches up through consecutive entries, naming each key once', () => {
    const plan = catchUp(10, [entry(11, ['a'], ['a/x']), entry(12, [], ['a/x', 'b/y']), entry(13, [], [])]);
    expect(plan).not.toBe('gap');
    if (plan === 'gap') return;
    expect(plan.version).toBe(13);
    expect([...plan.tenants]).toEqual(['a']);
    expect([...plan.endpoints]).toEqual(['a/x', 'b/y']);
  });

  it('is a gap when the log was trimmed, skips a version, is empty or holds a reset', () => {
    expect(catchUp(10, [entry(12, [], ['a/x'])])).toBe('gap');
    expect(catchUp(10, [entry(11, [], []), entry(13, [], [])])).toBe('gap');
    expect(catchUp(10, [])).toBe('gap');
    expect(catchUp(10, [entry(11, [], []), { version: 12, change: 'reset' }])).toBe('gap');
  });

  it('keeps every registry key in one cluster slot', () => {
    const slots = new Set(Object.values(registryKeys('wss')).map(keySlot));
    expect(slots).toEqual(new Set([keySlot('{registry}')]));
  });
});
