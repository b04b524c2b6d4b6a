// Outside data never reaches the operator's terminal raw (lib/terminal.ts): a receiver answering
// OSC (window title, OSC 8 link), CSI (clear screen, cursor moves), BEL and 8-bit CSI shows up
// escaped in `wss status`, `wss deliveries`, `wss recover` and CLI errors, while `--json`
// still carries the exact bytes. The built CLI against a real Redis, a real worker and a real
// receiver (the helper's known answers: terminal-escape.test.ts).
import { describe, expect, it } from 'vitest';
import { TENANT, endpoint, useWorkerTest } from './helpers/worker-context.js';
import { runWss } from './helpers/wss-process.js';

// Every control character a terminal acts on; newline alone is allowed (our own line breaks).
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;

const HOSTILE =
  '\x1b]0;pwned\x07\x1b[2J\x1b[H\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\\x1b[10A\x9b31m\u202eafed';

const { redis, harness, receiver } = useWorkerTest();

describe('the CLI and a hostile receiver', () => {
  it('wss status, deliveries and recover print the answers escaped; --json keeps the exact bytes', async () => {
    const rx = await receiver((req) => ({ status: req.path === '/bad' ? 500 : 200, body: HOSTILE }));
    const h = await harness();
    await h.seed([
      endpoint('ok', `${rx.url}/ok`),
      endpoint('bad', `${rx.url}/bad`, { retry: { attempts: 1, backoffMs: 100 } }),
    ]);
    await h.startWorker();
    const eventId = 'evt-hostile-1';
    const ok = await h.enqueue('ok', { eventId });
    const bad = await h.enqueue('bad', { eventId });
    await h.waitForState(ok.jobId, 'completed');
    await h.waitForState(bad.jobId, 'failed');
    const env = { REDIS_URL: redis().url, WSS_PREFIX: h.prefix };

    const status = runWss(['status', eventId], env);
    expect(status.stderr).toBe('');
    expect(status.status).toBe(0);
    expect(status.stdout).not.toMatch(RAW_CONTROL);
    // Both the 200 and the 500 show the answer, escaped.
    const rows = status.stdout.split('\n').filter((l) => l.includes('\\x1b]0;pwned\\x07\\x1b[2J'));
    expect(rows.map((l) => l.split(/\s+/)[0]).sort()).toEqual(['bad', 'ok']);

    const json = runWss(['status', eventId, '--json'], env);
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    const parsed = JSON.parse(json.stdout) as {
      events: Array<{ deliveries: Array<{ attempts: Array<{ response: string }> }> }>;
    };
    const responses = parsed.events[0]!.deliveries.flatMap((d) => d.attempts.map((a) => a.response));
    expect(responses).toEqual([HOSTILE, HOSTILE]);

    for (const args of [
      ['deliveries', '--tenant', TENANT],
      ['recover', '--tenant', TENANT, '--endpoint', 'bad', '--since', '1h', '--dry-run'],
    ]) {
      const r = runWss(args, env);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(RAW_CONTROL);
    }

    // An error that quotes its input quotes it escaped.
    const unknown = runWss(['\x1b]0;pwned\x07'], env);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "\\x1b]0;pwned\\x07"');
    expect(unknown.stderr).not.toMatch(RAW_CONTROL);
  });
});
