// What the Prometheus tests share: finding Debian's `prometheus` and `promtool` (skip without
// them, fail instead when WSS_PROMETHEUS_TEST=required, as .ci/run sets when they are
// installed), a real Prometheus server on a free port in a temp dir, and its HTTP API.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tracked } from './children.js';
import { freePort } from './redis-procs.mjs';

export const PROMETHEUS = process.env.WSS_PROMETHEUS_PATH ?? '/usr/bin/prometheus';
export const PROMTOOL = process.env.WSS_PROMTOOL_PATH ?? '/usr/bin/promtool';

/** Why `testFile` cannot run (a binary is missing), or undefined; throws when the test is required. */
export function prometheusMissing(
  testFile: string,
  binaries: readonly string[] = [PROMETHEUS, PROMTOOL],
): string | undefined {
  const absent = binaries.filter((b) => !existsSync(b));
  const missing =
    absent.length > 0 ? `${absent.join(', ')} not found (install them with: apt-get install -y prometheus)` : undefined;
  if (missing) {
    console.warn(`\n*** ${testFile} SKIPPED: ${missing} ***\n`);
    if (process.env.WSS_PROMETHEUS_TEST === 'required') throw new Error(`WSS_PROMETHEUS_TEST=required but ${missing}`);
  }
  return missing;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
}

export interface RunningPrometheus {
  url: string;
  /** An instant query; throws on an API error (a query Prometheus cannot parse fails the test). */
  query(expr: string): Promise<PromSample[]>;
  /** Values of a label among the series matching `match` (what a Grafana label_values variable lists). */
  labelValues(label: string, match: string): Promise<string[]>;
  alerts(): Promise<PromAlert[]>;
  /** Scrape targets' health, as /api/v1/targets reports it. */
  targets(): Promise<Array<{ health: string; lastError: string; scrapeUrl: string }>>;
  output(): string;
  close(): Promise<void>;
}

interface ApiReply<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as ApiReply<T>;
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? res.status}`);
  return body.data;
}

/**
 * Starts `prometheus` scraping `targets` (host:port, path /metrics) every `intervalS` seconds
 * and evaluating `rules` (the text of a rule file) as often; resolves once /-/ready answers.
 */
export async function startPrometheus(opts: {
  targets: string[];
  rules: string;
  job?: string;
  intervalS?: number;
}): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'wss-prometheus-'));
  const interval = `${opts.intervalS ?? 1}s`;
  writeFileSync(join(dir, 'rules.yml'), opts.rules);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'rule_files:',
      `  - ${join(dir, 'rules.yml')}`,
      'scrape_configs:',
      `  - job_name: ${opts.job ?? 'webhook-sender'}`,
      '    static_configs:',
      `      - targets: [${opts.targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const proc = tracked(
    spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) {
      await close();
      throw new Error(`prometheus exited (${proc.exitCode}):\n${out}`);
    }
    const ok = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`prometheus not ready within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    query: async (expr) => {
      const data = await api<{ result: PromSample[] }>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result;
    },
    labelValues: (label, match) =>
      api<string[]>(`${url}/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(match)}`),
    alerts: async () => (await api<{ alerts: PromAlert[] }>(`${url}/api/v1/alerts`)).alerts,
    targets: async () =>
      (
        await api<{ activeTargets: Array<{ health: string; lastError: string; scrapeUrl: string }> }>(
          `${url}/api/v1/targets`,
        )
      ).activeTargets,
    output: () => out,
    close,
  };
}
