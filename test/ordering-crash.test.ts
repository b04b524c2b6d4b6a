// Ordering keys through worker crashes (docs/ordering.md): worker processes (dist/cli.js) killed
// with -9 twice mid-run, while the receiver answers 503 to about 30 % of requests. A head in
// flight at a kill is run again by BullMQ's stalled check (it may arrive twice: at least once),
// but no later event of its key is ever sent before it.
import { afterEach, describe, expect, it } from 'vitest';
import { startBridge } from '../src/producers/bridge.js';
import { publishEvent } from '../src/queue/publish.js';
import { endpoint, isolatedEnv, useBridgeTest, waitUntil } from './helpers/bridge-context.js';
import { sleep } from './helpers/context.js';
import { expectKeyOrder, orderReceiver } from './helpers/ordering.js';
import { spawnWss, type WssProcess } from './helpers/wss-process.js';

const { cleanups, context, redis } = useBridgeTest();
const children: WssProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill('SIGKILL');
});

const KEYS = 5;
const PER_KEY = 100;
// Locks lapse after 1 s, stalls are looked for every 0.5 s.
const FAST_RECOVERY = { WSS_STALLED_INTERVAL_MS: '500', WSS_LOCK_DURATION_MS: '1000' };

describe('worker killed with -9', () => {
  it('twice mid-run, 30 % 503s: per key in order, sequences follow the events', async () => {
    const o = await orderReceiver(() => ({ status: Math.random() < 0.3 ? 503 : 200, delayMs: 15 }));
    cleanups.push(() => o.rx.close());
    const env = isolatedEnv({ ...FAST_RECOVERY, WSS_CONCURRENCY: '20' });
    const t = await context(env, {
      tenants: [
        {
          id: 'acme',
          endpoints: [
            endpoint('hook', {
              url: `${o.rx.url}/hook`,
              retry: { attempts: 40, backoffMs: 10 },
              circuit: { failures: 1000 },
            }),
          ],
        },
      ],
    });
    const bridge = await startBridge(t.ctx);
    cleanups.push(() => bridge.stop());
    const worker = async () => {
      const w = spawnWss(['start', '--role', 'worker'], {
        ...env,
        REDIS_URL: redis().url,
        WSS_HEALTH_PORT: '0',
        LOG_LEVEL: 'warn',
      });
      children.push(w);
      return w;
    };
    for (let i = 0; i < PER_KEY; i++)
      for (let k = 0; k < KEYS; k++)
        await publishEvent(t.ctx.redis, t.config.stream, {
          tenant: 'acme',
          type: 'x',
          data: { i, k: `k${k}` },
          orderingKey: `k${k}`,
        });
    const delivered = () => new Set(o.ok().map((h) => `${h.key}/${h.i}`)).size;
    const first = await worker();
    await waitUntil('a third delivered', () => delivered() >= (KEYS * PER_KEY) / 3, 120_000);
    await first.kill('SIGKILL');
    const killedAt = [o.hits.length];
    await sleep(300);
    const second = await worker();
    await waitUntil('two thirds delivered', () => delivered() >= (2 * KEYS * PER_KEY) / 3, 120_000);
    await second.kill('SIGKILL');
    killedAt.push(o.hits.length);
    await sleep(300);
    await worker();
    await waitUntil('every event delivered', () => delivered() === KEYS * PER_KEY, 180_000);

    for (let k = 0; k < KEYS; k++) {
      expectKeyOrder(o.hits, `k${k}`);
      const firsts = new Map<number, number>();
      for (const h of o.ok(`k${k}`)) if (!firsts.has(h.i)) firsts.set(h.i, h.seq!);
      expect([...firsts.values()]).toEqual(Array.from({ length: PER_KEY }, (_, i) => i + 1));
    }
    // The kills happened mid-run: deliveries arrived after each.
    expect(o.hits.length).toBeGreaterThan(killedAt[1]!);
    expect(killedAt[1]).toBeGreaterThan(killedAt[0]!);
  }, 400_000);
});
