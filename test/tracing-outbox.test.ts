// The trace context on the PostgreSQL outbox: `wss outbox init` makes the traceparent and
// tracestate columns, `wss publish` fills them, the bridge reads them, and the receiver's
// traceparent continues the producer's trace. A table made before the columns existed keeps
// working with tracing on: events go through, without their context.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestRedis } from './helpers/redis-server.js';
import { useTestPostgres } from './helpers/postgres.js';
import { initOutbox, outboxEnv } from './helpers/outbox.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp-receiver.js';
import { serviceEnv, spawnWss, type WssProcess } from './helpers/wss-process.js';

const { redis } = useTestRedis();
const pg = useTestPostgres();
let receiver: Receiver;
let otlp: OtlpReceiver;
const dir = mkdtempSync(join(tmpdir(), 'wss-trace-pg-'));

beforeAll(async () => {
  receiver = await startReceiver();
  otlp = await startOtlpReceiver();
});
afterAll(async () => {
  await receiver.close();
  await otlp.close();
});

async function exited(p: WssProcess): Promise<number | null> {
  const deadline = Date.now() + 30_000;
  while (p.proc.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return p.proc.exitCode;
}

async function deliverOne(name: string, dropColumns: boolean) {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      tenants: [{ id: 'acme', endpoints: [{ id: 'e', url: `${receiver.url}/${name}`, secret: 's'.repeat(24) }] }],
    }),
  );
  const env: Record<string, string> = serviceEnv(redis().url, `tpg-${name}`, {
    ...outboxEnv(pg(), { WSS_OUTBOX_POLL_MS: '100', WSS_OUTBOX_KEEP: 'true' }),
    TENANTS_FILE: file,
    WSS_HEALTH_PORT: '0',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  });
  initOutbox(env);
  if (dropColumns)
    await pg().sql(`ALTER TABLE ${env['WSS_OUTBOX_TABLE']} DROP COLUMN traceparent, DROP COLUMN tracestate`);
  const traceId = randomBytes(16).toString('hex');
  const svc = spawnWss(['start', '--role', 'bridge', '--role', 'worker'], env);
  try {
    await svc.waitForOutput(/webhook-sender started/, 30_000);
    const pub = spawnWss(
      [
        'publish',
        '--tenant',
        'acme',
        '--type',
        't.x',
        '--data',
        '{}',
        '--traceparent',
        `00-${traceId}-${'1'.repeat(16)}-01`,
      ],
      env,
    );
    expect(await exited(pub)).toBe(0);
    const deadline = Date.now() + 30_000;
    while (!receiver.requests.some((r) => r.path === `/${name}`) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
  } finally {
    expect(await svc.kill('SIGTERM')).toBe(0);
  }
  const req = receiver.requests.find((r) => r.path === `/${name}`);
  expect(req).toBeDefined();
  const rows = dropColumns ? [] : await pg().sql(`SELECT traceparent FROM ${env['WSS_OUTBOX_TABLE']}`);
  return { traceId, traceparent: String(req!.headers['traceparent']), rows };
}

describe('trace context on the PostgreSQL outbox', () => {
  it('is written to the outbox row and continued by the bridge to the receiver', { timeout: 90_000 }, async () => {
    const { traceId, traceparent, rows } = await deliverOne('with-columns', false);
    // The row holds the publish span's context (same trace, the span is wss publish's own).
    expect(rows.map((r) => String(r['traceparent']).slice(3, 35))).toEqual([traceId]);
    expect(traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const bridge = await otlp.waitFor((s) => s.some((x) => x.traceId === traceId && x.name === 'wss.bridge'));
    expect(bridge.find((x) => x.traceId === traceId && x.name === 'wss.bridge')!.attributes['messaging.system']).toBe(
      'postgres-outbox',
    );
  });

  it('works on a table made before the columns: delivered, without the context', { timeout: 90_000 }, async () => {
    const { traceId, traceparent } = await deliverOne('without-columns', true);
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(traceparent).not.toContain(traceId);
  });
});
