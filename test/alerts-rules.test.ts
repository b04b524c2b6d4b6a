// The alert rules and the dashboard as files: `promtool check rules` accepts the rules,
// `promtool test rules` runs the unit tests of deploy/prometheus/alerts.test.yml, every alert
// is tested both firing and silent, every alert tells the operator what to do, and the
// dashboard has the variables an operator filters by. The queries themselves meet a real
// Prometheus in test/prometheus-dashboard.test.ts. Skipped without promtool unless
// WSS_PROMETHEUS_TEST=required.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROMTOOL, prometheusMissing } from './helpers/prometheus.js';

const RULES = fileURLToPath(new URL('../deploy/prometheus/alerts.yml', import.meta.url));
const RULE_TESTS = fileURLToPath(new URL('../deploy/prometheus/alerts.test.yml', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../deploy/grafana/webhook-sender.json', import.meta.url));

const rulesText = readFileSync(RULES, 'utf8');
/** Each rule's text, from its `- alert:` line to the next. */
const alerts = rulesText
  .split(/^\s+- alert: /m)
  .slice(1)
  .map((block) => ({ name: block.split('\n')[0]!.trim(), block }));

function promtool(...args: string[]) {
  const r = spawnSync(PROMTOOL, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('alert rules and dashboard files', () => {
  it('every alert has a severity, a summary and a description', () => {
    expect(alerts.map((a) => a.name)).toEqual(
      expect.arrayContaining([
        'WssTargetDown',
        'WssNotReady',
        'WssNoDeliveriesWhileJobsWait',
        'WssBridgeLagGrowing',
        'WssTenantFailureRatioHigh',
        'WssEndpointFailureRatioHigh',
        'WssCircuitOpen',
        'WssEndpointAutoDisabled',
        'WssDeadLettersRising',
        'WssDeliveryLogWritesFailing',
        'WssStallsRepeating',
      ]),
    );
    for (const { name, block } of alerts) {
      expect(block, name).toMatch(/^\s+severity: (critical|warning)$/m);
      expect(block, name).toMatch(/^\s+summary: (["'])[^"']{10,}\1$/m);
      expect(block, name).toMatch(/^\s+description: >-\n(\s{12}\S.*\n){2,}/m);
    }
  });

  it('every alert is unit-tested both firing and silent', () => {
    const tests = readFileSync(RULE_TESTS, 'utf8');
    for (const { name } of alerts) {
      expect(tests, `${name} firing`).toMatch(new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels:`));
      expect(tests, `${name} silent`).toMatch(new RegExp(`alertname: ${name}\\n\\s+exp_alerts: \\[\\]`));
    }
  });

  it('the dashboard filters by data source, tenant and endpoint, and every panel reads the chosen data source', () => {
    const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      templating: { list: Array<{ name: string; type: string }> };
      panels: Array<{ type: string; title: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> }>;
    };
    const vars = Object.fromEntries(d.templating.list.map((v) => [v.name, v.type]));
    expect(vars).toMatchObject({ datasource: 'datasource', tenant: 'query', endpoint: 'query' });
    const panels = d.panels.filter((p) => p.type !== 'row');
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
    // The panels the operator asked for, by the metric each one reads.
    const exprs = panels.flatMap((p) => p.targets!.map((t) => t.expr)).join('\n');
    for (const metric of [
      'wss_deliveries_total',
      'wss_end_to_end_lag_seconds_bucket',
      'wss_queue_shard_jobs',
      'wss_stream_consumer_lag',
      'wss_stream_pending',
      'wss_endpoint_circuit_state',
      'wss_endpoints_disabled_total',
      'wss_dead_lettered_total',
      'wss_expression_failures_total',
      'wss_jobs_stalled_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      expect(exprs, metric).toContain(metric);
  });
});

const missing = prometheusMissing('test/alerts-rules.test.ts', [PROMTOOL]);

describe.skipIf(missing)('promtool', () => {
  it('check rules accepts the file', () => {
    const r = promtool('check', 'rules', RULES);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('test rules: the unit tests of every alert pass', () => {
    const r = promtool('test', 'rules', RULE_TESTS);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it('test rules fails when a rule changes under its tests (the tests can fail)', () => {
    // The same tests against rules whose endpoint failure-ratio threshold moved: promtool must object.
    const changed = rulesText.replace(') > 0.9', ') > 1');
    expect(changed).not.toBe(rulesText);
    const dir = mkdtempSync(join(tmpdir(), 'wss-promtool-'));
    try {
      writeFileSync(join(dir, 'alerts.yml'), changed);
      copyFileSync(RULE_TESTS, join(dir, 'alerts.test.yml'));
      const r = promtool('test', 'rules', join(dir, 'alerts.test.yml'));
      expect(r.status).not.toBe(0);
      expect(r.out).toContain('alertname: WssEndpointFailureRatioHigh');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
