import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { ConfigError } from '../src/lib/errors.js';
import { parseEndpoint } from '../src/tenants/schema.js';
import { attemptHeaders } from '../src/workers/deliver.js';
import { ConnectionEpochs, lockNeedsCheck, type LockFacts } from '../src/workers/lock-check.js';

describe('lockNeedsCheck', () => {
  const fresh: LockFacts = {
    startEpoch: 2,
    epoch: 2,
    connected: true,
    lockedAt: 1_000_000,
    now: 1_000_050,
    lockDurationMs: 30_000,
  };

  it('asks Redis nothing for a job taken moments ago on a connection that stayed up', () => {
    expect(lockNeedsCheck(fresh)).toBe(false);
    expect(lockNeedsCheck({ ...fresh, now: fresh.lockedAt! + 7_500 })).toBe(false);
  });

  it.each([
    ['the connection dropped since the job was taken', { epoch: 3 }],
    ['Redis is unreachable right now', { connected: false }],
    ['the job was held longer than a quarter of the lock', { now: 1_000_000 + 7_501 }],
    ['the lock time is unknown', { lockedAt: undefined }],
  ])('checks when %s', (_why, change: Partial<LockFacts>) => {
    expect(lockNeedsCheck({ ...fresh, ...change })).toBe(true);
  });
});

describe('ConnectionEpochs', () => {
  it('counts lost connections and reports whether the connection is ready', () => {
    const conn = Object.assign(new EventEmitter(), { status: 'ready' });
    const epochs = new ConnectionEpochs(conn);
    expect([epochs.current, epochs.connected]).toEqual([0, true]);
    conn.status = 'reconnecting';
    conn.emit('close');
    expect([epochs.current, epochs.connected]).toEqual([1, false]);
    conn.status = 'ready';
    expect([epochs.current, epochs.connected]).toEqual([1, true]);
  });
});

describe('X-WSS-Redelivery', () => {
  const ep = parseEndpoint({ id: 'orders', url: 'https://example.com/h', secret: 'sekrit-0123456789abc' });
  const data = { eventId: 'evt_1', tenant: 'acme', endpoint: 'orders', type: 'order.paid', createdAt: 0, body: '{}' };

  it('is sent only on a redelivery, beside the unchanged attempt number', () => {
    const signed = { 'X-WSS-Timestamp': '0', 'X-WSS-Signature': 'ab' };
    expect(attemptHeaders(ep, data, signed, 1, 'ua')).not.toHaveProperty('X-WSS-Redelivery');
    expect(attemptHeaders(ep, data, signed, 1, 'ua', true)).toMatchObject({
      'X-WSS-Attempt': '1',
      'X-WSS-Redelivery': 'true',
    });
  });
});

describe('crash-recovery settings', () => {
  it('default to a 30 s lock and 20 stalls, apart from the stalled interval', () => {
    expect(parseConfig({})).toMatchObject({
      worker: { lockDurationMs: 30_000, maxStalledCount: 20, stalledIntervalMs: 30_000 },
    });
    expect(parseConfig({ WSS_STALLED_INTERVAL_MS: '5000' }).worker.lockDurationMs).toBe(30_000);
    expect(parseConfig({ WSS_LOCK_DURATION_MS: '60000', WSS_MAX_STALLED_COUNT: '0' })).toMatchObject({
      worker: { lockDurationMs: 60_000, maxStalledCount: 0 },
    });
  });

  it.each([
    ['WSS_LOCK_DURATION_MS', '500'],
    ['WSS_MAX_STALLED_COUNT', '-1'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(name);
  });
});
