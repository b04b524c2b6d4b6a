// The delivery-log record of a reused event id stays under its byte bound (issue 18): a producer
// reusing one id thousands of times used to grow one hash field without limit (5,000 reuses: a
// 1.14 MB field, copied by every write). Past RECORD_MAX_BYTES the oldest lines go, a first
// line counts them, and `wss status` says so and shows the newest. Real Redis, the built CLI.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { decodeValues, droppedLines, encodeLine } from '../src/history/lines.js';
import { HistoryStore, RECORD_KEEP_BYTES, RECORD_MAX_BYTES } from '../src/history/store.js';
import { useTestRedis } from './helpers/redis-server.js';
import { runWss } from './helpers/wss-process.js';

const { redis, cleanups } = useTestRedis();

describe('a reused event id', () => {
  it('keeps its record under the byte bound, the newest lines kept and the dropped ones counted', async () => {
    const r = new Redis(redis().url);
    cleanups.push(async () => r.disconnect());
    const prefix = 'bound';
    const store = new HistoryStore(r, {
      prefix,
      layout: { count: 1, cluster: false },
      retentionMs: 3_600_000,
      maxRecords: 100_000,
    });
    const t0 = Date.now() - 60_000;
    const reuses = 2_500;
    const response = 'r'.repeat(150);
    for (let i = 0; i < reuses; i++) {
      const at = t0 + i;
      const lines = [
        encodeLine({
          kind: 'b',
          tenant: 'acme',
          type: 'order.paid',
          createdAtMs: at,
          atMs: at,
          outcome: 'fanned_out',
          endpoints: ['orders'],
        }),
        encodeLine({
          kind: 'a',
          tenant: 'acme',
          endpoint: 'orders',
          attempt: 1,
          atMs: at,
          status: 200,
          latencyMs: 3,
          outcome: 'delivered',
          response: `${i} ${response}`,
        }),
      ];
      await store.write([{ eventId: 'reused-1', lines }], [], at);
    }
    const values = await store.read('reused-1');
    expect(values).toHaveLength(1);
    const bytes = Buffer.byteLength(values[0]!);
    expect(bytes).toBeLessThanOrEqual(RECORD_MAX_BYTES);
    expect(bytes).toBeGreaterThan(RECORD_KEEP_BYTES / 2);
    const kept = decodeValues(values);
    // Nothing lost silently: what is kept plus what is counted is everything written.
    expect(kept.length + droppedLines(values)).toBe(reuses * 2);
    const last = kept[kept.length - 1]!;
    expect(last.kind === 'a' && last.response.startsWith(`${reuses - 1} `)).toBe(true);

    const env = { REDIS_URL: redis().url, WSS_PREFIX: prefix };
    const json = runWss(['status', 'reused-1', '--json'], env);
    expect(json.status, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout) as { droppedLines?: number };
    expect(status.droppedLines).toBe(droppedLines(values));
    const text = runWss(['status', 'reused-1'], env);
    expect(text.stdout).toContain(
      `(${droppedLines(values)} older lines of this event's record were dropped to keep it under 64 KB: newest shown)`,
    );
  });
});
