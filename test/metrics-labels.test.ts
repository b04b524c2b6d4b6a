// WSS_METRICS_LABELS bounds the {tenant,endpoint} series: `wss start` with `tenant` folds every
// endpoint of a tenant into endpoint="*" (deliveries, in-flight, circuit state) while the
// tenants stay apart; `none` folds the tenants too; the default keeps one series per endpoint.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { countDelivery, metricsRegistry, seriesOf, setMetricLabelDetail } from '../src/lib/metrics.js';
import { publishEvent } from '../src/queue/publish.js';
import { until } from './helpers/browser.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { useTestRedis } from './helpers/redis-server.js';
import { serviceEnv, spawnWss, type WssProcess } from './helpers/wss-process.js';

/** The label sets of `metric`'s series in a /metrics text. */
function series(text: string, metric: string): Array<Record<string, string>> {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`))
    .map((l) => Object.fromEntries([...l.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!])));
}

describe('WSS_METRICS_LABELS', () => {
  const { redis } = useTestRedis();
  const dir = mkdtempSync(join(tmpdir(), 'wss-metrics-labels-'));
  let receiver: Receiver | undefined;
  let svc: WssProcess | undefined;
  afterAll(async () => {
    await svc?.kill('SIGTERM');
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses endpoint (the default), tenant and none, and refuses anything else naming the variable', () => {
    expect(parseConfig({}).metricsLabels).toBe('endpoint');
    expect(parseConfig({ WSS_METRICS_LABELS: 'tenant' }).metricsLabels).toBe('tenant');
    expect(parseConfig({ WSS_METRICS_LABELS: 'none' }).metricsLabels).toBe('none');
    expect(() => parseConfig({ WSS_METRICS_LABELS: 'event' })).toThrow(/WSS_METRICS_LABELS/);
  });

  it('none folds tenants and endpoints into one series per outcome; endpoint keeps them apart', async () => {
    try {
      setMetricLabelDetail('none');
      expect(seriesOf('acme', 'orders')).toEqual({ tenant: '*', endpoint: '*' });
      countDelivery('fold-a', 'x', 'delivered', 0.01);
      countDelivery('fold-b', 'y', 'delivered', 0.01);
      setMetricLabelDetail('endpoint');
      countDelivery('fold-a', 'x', 'delivered', 0.01);
      const text = await metricsRegistry.metrics();
      const rows = series(text, 'wss_deliveries_total');
      expect(rows).toContainEqual({ tenant: '*', endpoint: '*', outcome: 'delivered' });
      expect(rows).toContainEqual({ tenant: 'fold-a', endpoint: 'x', outcome: 'delivered' });
      expect(rows.filter((r) => r['tenant'] === 'fold-b')).toEqual([]);
      expect(text).toMatch(/^wss_deliveries_total\{tenant="\*",endpoint="\*",outcome="delivered"\} 2$/m);
    } finally {
      setMetricLabelDetail('endpoint');
    }
  });

  it('`wss start` with tenant: one series per tenant, endpoint="*", for deliveries, in-flight and circuits', async () => {
    receiver = await startReceiver((req) => ({ status: req.path === '/fail' ? 500 : 200 }));
    const secret = 'metrics-labels-secret-0123';
    const tenants = join(dir, 'tenants.json');
    writeFileSync(
      tenants,
      JSON.stringify({
        tenants: [
          {
            id: 'acme',
            endpoints: [
              { id: 'ok', url: `${receiver.url}/ok`, secret },
              { id: 'bad', url: `${receiver.url}/fail`, secret, retry: { attempts: 2, backoffMs: 100 } },
            ],
          },
          { id: 'beta', endpoints: [{ id: 'ok2', url: `${receiver.url}/ok2`, secret }] },
        ],
      }),
    );
    const env = serviceEnv(redis().url, 'labels', {
      WSS_DASHBOARD_AUTH: 'off',
      PORT: '0',
      TENANTS_FILE: tenants,
      WSS_BLOCK_MS: '100',
      WSS_METRICS_LABELS: 'tenant',
    });
    svc = spawnWss(['start'], env);
    await svc.waitForOutput(/webhook-sender started/, 60_000);
    const line = svc
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; url?: string })
      .find((l) => l.msg === 'dashboard listening');
    const metricsUrl = `${new URL(line!.url!).origin}/metrics`;

    const client = redis().client();
    for (const tenant of ['acme', 'beta'])
      await publishEvent(client, env.WSS_STREAM, { tenant, type: 'order.created', data: {}, id: `${tenant}-1` });
    const text = await until(
      'deliveries, retries and the failing circuit counted',
      async () => {
        const t = await (await fetch(metricsUrl)).text();
        const rows = series(t, 'wss_deliveries_total');
        const has = (tenant: string, outcome: string) =>
          rows.some((r) => r['tenant'] === tenant && r['outcome'] === outcome);
        // The circuit hears of the failure in its own step: its series may come a scrape later.
        const circuit = series(t, 'wss_endpoint_circuit_state').length > 0;
        return has('acme', 'delivered') && has('acme', 'retry') && has('beta', 'delivered') && circuit ? t : undefined;
      },
      60_000,
    );
    const deliveries = series(text, 'wss_deliveries_total');
    expect(new Set(deliveries.map((r) => r['endpoint']))).toEqual(new Set(['*']));
    expect(new Set(deliveries.map((r) => r['tenant']))).toEqual(new Set(['acme', 'beta']));
    expect(series(text, 'wss_endpoint_in_flight').map((r) => r['endpoint'])).not.toContain('ok');
    const circuits = series(text, 'wss_endpoint_circuit_state');
    expect(circuits).toEqual([{ tenant: 'acme', endpoint: '*' }]);
    // Nothing names an endpoint in any labelled series.
    expect(text).not.toMatch(/endpoint="(ok|bad|ok2)"/);
  }, 120_000);
});
