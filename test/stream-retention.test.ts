// WSS_STREAM_RETENTION: the bridge keeps acknowledged entries for the retention, trims older ones,
// and never trims an entry some group has not acknowledged. Plus the pure parts of replay and
// recover input: retention floors, the stream window, and time arguments (known answers).
import { describe, expect, it } from 'vitest';
import { asFlags } from '../src/cli/recover.js';
import { jobEndpoint, replayJobId } from '../src/queue/job.js';
import { startBridge } from '../src/producers/bridge.js';
import { retentionFloor } from '../src/producers/sources/redis-stream/trim.js';
import { formatDuration } from '../src/replay/replay.js';
import { outsideRetention } from '../src/replay/stream-window.js';
import { parseTimeArg } from '../src/lib/time-arg.js';
import { endpoint, isolatedEnv, useBridgeTest, waitUntil } from './helpers/bridge-context.js';

const { context, cleanups } = useBridgeTest();
const MIN = 60_000;

describe('stream retention in the bridge', () => {
  it('keeps acknowledged entries within the retention, trims older ones, never unacknowledged ones', async () => {
    const t = await context(isolatedEnv({ WSS_STREAM_RETENTION: '5m' }), {
      tenants: [{ id: 'acme', endpoints: [endpoint('all')] }],
    });
    const r = t.ctx.redis;
    const s = t.config.stream;
    const now = Date.now();
    // Entries with explicit ids: three from 10 minutes ago, two from now.
    const old = [`${now - 10 * MIN}-1`, `${now - 10 * MIN}-2`, `${now - 10 * MIN}-3`];
    const fresh = [`${now}-1`, `${now}-2`];
    for (const id of [...old, ...fresh]) await r.xadd(s, id, 'tenant', 'acme', 'type', 'x', 'data', '{}');
    // Another group read two old entries and acknowledged only the first.
    await r.xgroup('CREATE', s, 'other', '0');
    await r.xreadgroup('GROUP', 'other', 'o1', 'COUNT', 2, 'STREAMS', s, '>');
    await r.xack(s, 'other', old[0]!);

    const b = await startBridge(t.ctx);
    cleanups.push(() => b.stop());
    await waitUntil('bridge handled all', () => b.stats().entries === 5);
    await waitUntil('first trim', () => b.stats().trimmed >= 1);
    await new Promise((res) => setTimeout(res, 400)); // several trim intervals (100 ms)
    const ids = async () => ((await r.xrange(s, '-', '+')) as Array<[string, string[]]>).map(([id]) => id);
    // old[1] is pending in "other": it and everything after it stay, though past the retention.
    expect(await ids()).toEqual([old[1], old[2], ...fresh]);

    await r.xack(s, 'other', old[1]!);
    await r.xreadgroup('GROUP', 'other', 'o1', 'COUNT', 10, 'STREAMS', s, '>');
    await r.xack(s, 'other', old[2]!, ...fresh);
    await waitUntil('old entries trimmed', async () => (await r.xlen(s)) === 2);
    await new Promise((res) => setTimeout(res, 400));
    // Acknowledged by every group but within the retention: kept for replay.
    expect(await ids()).toEqual(fresh);
    expect(b.stats().trimmed).toBe(3);
  });
});

describe('retention floor (pure)', () => {
  it('holds the safe floor back to now - retention, never past it', () => {
    expect(retentionFloor('5000-3', 0, 9000)).toBe('5000-3'); // 0: trim at once
    expect(retentionFloor('5000-3', 1000, 9000)).toBe('5000-3'); // the group's floor is lower
    expect(retentionFloor('8500-0', 1000, 9000)).toBe('8000-0'); // retention holds back
    expect(retentionFloor('8000-0', 1000, 9000)).toBe('8000-0');
    expect(retentionFloor('10-0', 86_400_000, 9000)).toBe('0-0');
  });
});

describe('stream window (pure)', () => {
  const at = (iso: string) => `${Date.parse(iso)}-0`;
  const w = { firstId: at('2026-05-01T10:00:00Z'), trimmedBelow: at('2026-05-01T10:00:00Z'), maxDeletedId: undefined };
  it('refuses a range starting before the oldest kept entry once entries were trimmed', () => {
    expect(outsideRetention(w, Date.parse('2026-05-01T09:00:00Z'), '1d')).toBe(
      'the range starts at 2026-05-01T09:00:00.000Z, but older entries were trimmed (WSS_STREAM_RETENTION=1d); the stream keeps entries from 2026-05-01T10:00:00.000Z on',
    );
    expect(outsideRetention(w, Date.parse('2026-05-01T10:00:00Z'), '1d')).toBeUndefined();
    expect(outsideRetention({ ...w, trimmedBelow: undefined }, 0, '1d')).toBeUndefined(); // nothing ever trimmed
  });
  it('names an empty stream, and deletions inside the range', () => {
    const empty = { firstId: undefined, trimmedBelow: at('2026-05-01T10:00:00Z'), maxDeletedId: undefined };
    expect(outsideRetention(empty, Date.parse('2026-05-01T10:00:00Z'), '2h')).toMatch(
      /the stream holds no entries now$/,
    );
    expect(outsideRetention(empty, Date.parse('2026-05-01T10:00:01Z'), '2h')).toBeUndefined();
    const xdel = { ...w, trimmedBelow: undefined, maxDeletedId: at('2026-05-01T11:00:00Z') };
    expect(outsideRetention(xdel, Date.parse('2026-05-01T10:30:00Z'), '1d')).toMatch(
      /entries up to 2026-05-01T11:00:00.000Z were deleted from the stream/,
    );
    expect(outsideRetention(xdel, Date.parse('2026-05-01T11:00:01Z'), '1d')).toBeUndefined();
  });
  it('formats the retention as it would be written', () => {
    expect([86_400_000, 7_200_000, 90_000, 1_500, 0].map(formatDuration)).toEqual(['1d', '2h', '90s', '1500ms', '0ms']);
  });
});

describe('time arguments (pure)', () => {
  const now = Date.parse('2026-05-01T12:00:00Z');
  it('reads ISO times, "now" and durations back from now', () => {
    expect(parseTimeArg('2026-05-01T10:00:00Z', now)).toBe(Date.parse('2026-05-01T10:00:00Z'));
    expect(parseTimeArg('2026-05-01T10:00:00.250+02:00', now)).toBe(Date.parse('2026-05-01T08:00:00.250Z'));
    expect(parseTimeArg('2026-05-01', now)).toBe(Date.parse('2026-05-01T00:00:00Z'));
    expect(parseTimeArg('now', now)).toBe(now);
    expect(parseTimeArg('2h', now)).toBe(now - 7_200_000);
    expect(parseTimeArg('90s', now)).toBe(now - 90_000);
    expect(parseTimeArg('1.5d', now)).toBe(now - 129_600_000);
    expect(parseTimeArg(' 15m ', now)).toBe(now - 900_000);
  });
  it('refuses anything else', () => {
    for (const bad of ['', 'yesterday', '2', '2 h', '-2h', '2026-13-01', 'May 3', '2026-05-01T25:00:00Z', 12, null])
      expect(parseTimeArg(bad, now), String(bad)).toBeUndefined();
  });
  it("a replay's job id keeps the prefix that job-id readers split on", () => {
    const id = replayJobId('evt.1~x', 'acme', 'orders', 'mbx2k1a9f3c2');
    expect(id).toBe('acme.orders.evt.1~x.rmbx2k1a9f3c2');
    expect(jobEndpoint(id)).toEqual({ tenant: 'acme', endpoint: 'orders' });
  });
  it('the CLI names flags where the API names fields', () => {
    expect(asFlags('field "dryRun": must be true or false; field "from": x')).toBe(
      '--dry-run: must be true or false; --from: x',
    );
  });
});
