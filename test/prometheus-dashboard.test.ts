// The Grafana dashboard and the alert rules against a real Prometheus (Debian's package) scraping
// a real `wss start` that delivers to a real receiver: every query of every dashboard panel
// returns data, the tenant and endpoint variables list what was delivered, and the
// endpoint-failure alert reaches `firing` for the endpoint that keeps failing and for no other.
// The rules are a copy of deploy/prometheus/alerts.yml with every `for:` cut to 5 s, so the test
// does not wait 15 minutes; the expressions are the file's own. Skipped without prometheus
// unless WSS_PROMETHEUS_TEST=required (.ci/run sets it when the package is installed).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publishEvent } from '../src/queue/publish.js';
import { until } from './helpers/browser.js';
import { prometheusMissing, startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { useTestRedis } from './helpers/redis-server.js';
import { serviceEnv, spawnWss, type WssProcess } from './helpers/wss-process.js';

const missing = prometheusMissing('test/prometheus-dashboard.test.ts');
const DASHBOARD = new URL('../deploy/grafana/webhook-sender.json', import.meta.url);
const ALERTS = new URL('../deploy/prometheus/alerts.yml', import.meta.url);

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string | { query: string } }> };
}

/** What Grafana puts in a query with every variable at "All" and a 1 s scrape interval. */
const VARIABLES: Record<string, string> = {
  tenant: '.*',
  endpoint: '.*',
  job: 'webhook-sender',
  __rate_interval: '15s',
};

function substitute(expr: string): string {
  const out = expr.replace(/\$\{?(\w+)\}?/g, (m, name: string) => VARIABLES[name] ?? m);
  // A variable the dashboard uses but this table lacks would reach Prometheus as `$x`: say so.
  if (out.includes('$')) throw new Error(`unknown variable in ${expr}`);
  return out;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const queries = dashboard.panels
  .filter((p) => p.type !== 'row')
  .flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: substitute(t.expr) })));

describe.skipIf(missing)('dashboard and alerts on a real Prometheus', () => {
  const { redis } = useTestRedis();
  const dir = mkdtempSync(join(tmpdir(), 'wss-prometheus-test-'));
  let receiver: Receiver | undefined;
  let svc: WssProcess | undefined;
  let prom: RunningPrometheus | undefined;
  let publishing = true;
  let loop: Promise<void> | undefined;

  afterAll(async () => {
    publishing = false;
    await loop;
    await prom?.close();
    await svc?.kill('SIGTERM');
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every panel query returns data and the failure-ratio alert fires for the failing endpoint only', async () => {
    expect(queries.length).toBeGreaterThanOrEqual(17);
    receiver = await startReceiver((req) => ({ status: req.path === '/fail' ? 500 : 200 }));
    const secret = 'prometheus-test-secret-0123';
    const tenants = join(dir, 'tenants.json');
    writeFileSync(
      tenants,
      JSON.stringify({
        tenants: [
          {
            id: 'acme',
            endpoints: [
              { id: 'ok', url: `${receiver.url}/ok`, secret },
              // Retries wait 2 s in the delayed set, so the backlog and queue panels have jobs to show;
              // the circuit stays closed so every event keeps adding failed attempts.
              {
                id: 'failing',
                url: `${receiver.url}/fail`,
                secret,
                retry: { attempts: 4, backoffMs: 2000 },
                circuit: { failures: 1000, coolDownMs: 500 },
              },
              // Throws on events whose data has bad: true (an expression failure and a dead letter).
              { id: 'picky', url: `${receiver.url}/picky`, secret, transform: "data.bad ? $error('bad event') : data" },
            ],
          },
          { id: 'beta', endpoints: [{ id: 'ok2', url: `${receiver.url}/ok2`, secret }] },
        ],
      }),
    );
    const env = serviceEnv(redis().url, 'prom', {
      WSS_DASHBOARD_AUTH: 'off',
      PORT: '0',
      TENANTS_FILE: tenants,
      WSS_BLOCK_MS: '100',
    });
    svc = spawnWss(['start'], env);
    await svc.waitForOutput(/webhook-sender started/, 60_000);
    const listening = svc
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; url?: string })
      .find((l) => l.msg === 'dashboard listening');
    const port = new URL(listening!.url!).port;

    const rules = readFileSync(ALERTS, 'utf8').replace(/^(\s+)for: \S+$/gm, '$1for: 5s');
    expect(rules).toContain('for: 5s');
    prom = await startPrometheus({ targets: [`127.0.0.1:${port}`], rules });

    const client = redis().client();
    const stream = env.WSS_STREAM;
    await publishEvent(client, stream, { tenant: 'acme', type: 'order.created', data: { bad: true }, id: 'bad-1' });
    await client.xadd(stream, '*', 'type', 'no.tenant', 'data', '{}'); // malformed: a dead letter
    let n = 0;
    loop = (async () => {
      while (publishing) {
        n++;
        await publishEvent(client, stream, { tenant: 'acme', type: 'order.created', data: { n }, id: `a-${n}` });
        await publishEvent(client, stream, { tenant: 'beta', type: 'order.created', data: { n }, id: `b-${n}` });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    await until(
      'the target scraped',
      async () => ((await prom!.targets())[0]?.health === 'up' ? true : undefined),
      60_000,
    );
    // Data accrues over a few scrapes (rates need two samples, the backlog a recount): wait for all.
    let empty: string[] = [];
    await until(
      `every panel query to return data (still empty: ${empty.join('; ')})`,
      async () => {
        const results = await Promise.all(queries.map(async (q) => ({ q, rows: await prom!.query(q.expr) })));
        empty = results.filter((r) => r.rows.length === 0).map((r) => `${r.q.panel} ${r.q.refId}: ${r.q.expr}`);
        return empty.length === 0 ? true : undefined;
      },
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nempty: ${empty.join('\n')}`);
    });

    // The rows say what happened, not just that there is a row.
    const outcomes = await prom.query(queries.find((q) => q.panel.startsWith('Deliveries per second'))!.expr);
    expect(outcomes.map((r) => r.metric['outcome']).sort()).toEqual(expect.arrayContaining(['delivered', 'retry']));
    const ratioQuery = queries.find((q) => q.panel === 'Success ratio per tenant')!.expr;
    const byTenant = await until('acme failing attempts in the success ratio', async () => {
      const rows = await prom!.query(ratioQuery);
      const t = Object.fromEntries(rows.map((r) => [r.metric['tenant'], Number(r.value[1])]));
      return (t['acme'] ?? 1) < 1 ? t : undefined;
    });
    expect(byTenant['beta']).toBe(1);
    expect(byTenant['acme']).toBeGreaterThan(0);
    const expr = await prom.query(queries.find((q) => q.panel === 'Expression failures')!.expr);
    expect(expr.map((r) => r.metric)).toContainEqual({ tenant: 'acme', endpoint: 'picky', kind: 'error' });
    const ready = await prom.query('min by (check) (wss_ready)');
    expect(Object.fromEntries(ready.map((r) => [r.metric['check'], r.value[1]]))).toEqual({
      redis: '1',
      worker: '1',
      bridge: '1',
    });

    // The variables list what the service delivered to.
    expect((await prom.labelValues('tenant', 'wss_deliveries_total')).sort()).toEqual(['acme', 'beta']);
    expect((await prom.labelValues('endpoint', 'wss_deliveries_total{tenant=~"acme"}')).sort()).toEqual([
      'failing',
      'ok',
      'picky',
    ]);

    const firing = await until(
      'WssEndpointFailureRatioHigh firing',
      async () => {
        const alerts = await prom!.alerts();
        const a = alerts.filter((x) => x.labels['alertname'] === 'WssEndpointFailureRatioHigh' && x.state === 'firing');
        return a.length > 0 ? alerts : undefined;
      },
      120_000,
    );
    const ratioAlerts = firing.filter((a) => a.labels['alertname'] === 'WssEndpointFailureRatioHigh');
    expect(ratioAlerts.map((a) => `${a.labels['tenant']}/${a.labels['endpoint']}`)).toEqual(['acme/failing']);
    expect(ratioAlerts[0]!.labels['severity']).toBe('warning');
    expect(ratioAlerts[0]!.annotations['summary']).toBe('Endpoint acme/failing: over 90 % of attempts fail');
    // A healthy service: up, ready, delivering.
    const names = new Set(firing.map((a) => a.labels['alertname']));
    for (const quiet of ['WssTargetDown', 'WssNotReady', 'WssNoDeliveriesWhileJobsWait', 'WssEndpointAutoDisabled'])
      expect(names.has(quiet), quiet).toBe(false);
    expect(svc.proc.exitCode).toBeNull();
  }, 300_000);
});
