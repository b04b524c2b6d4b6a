// `wss tenant token create|list|revoke`, `wss tenant portal-link` and `wss tenant access`
// (the built CLI, as child processes) against a running `wss start --role dashboard`: a token
// printed once works, a read-only one only reads, a revoked one stops at once, a link opens
// once. The dashboard process's whole output (stdout and stderr, every log line) is captured
// and holds no token, link code or session id.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, useTestRedis } from './helpers/redis-server.js';
import { runWss, serviceEnv, spawnWss, type WssProcess } from './helpers/wss-process.js';

const { redis } = useTestRedis();
const dir = mkdtempSync(join(tmpdir(), 'wss-cli-tenant-'));
const PASSWORD = 'cli-tenant-password-1';
let env: Record<string, string>;
let dash: WssProcess;
let base: string;
const secrets: string[] = [];

const wss = (...args: string[]) => runWss(args, env);
// A connection per request: the CLI runs take seconds between requests, about the time an idle
// keep-alive socket is closed by the server, and a request racing that close would fail.
const fresh = new Agent({ pipelining: 0 });
const fetch = (url: string, init: Parameters<typeof undiciFetch>[1] = {}) =>
  undiciFetch(url, { ...init, dispatcher: fresh });

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = serviceEnv(redis().url, 'clit', {
    PORT: String(port),
    WSS_DASHBOARD_PASSWORD: PASSWORD,
    WSS_PORTAL_PUBLIC_URL: base,
  });
  const file = join(dir, 'tenants.json');
  writeFileSync(
    file,
    JSON.stringify({
      tenants: [
        { id: 'acme', endpoints: [{ id: 'orders', url: 'https://example.com/o', secret: 'orders-secret-0123456789' }] },
      ],
    }),
  );
  expect(wss('seed', file).status).toBe(0);
  // At debug: every line the dashboard can write is in the output checked below.
  dash = spawnWss(['start', '--role', 'dashboard'], { ...env, LOG_LEVEL: 'debug' });
  await dash.waitForOutput(/dashboard listening/);
});
afterAll(async () => {
  await dash?.kill();
  await fresh.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = (path: string, token: string, method = 'GET', body?: unknown) =>
  fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

describe('wss tenant token', () => {
  it('creates a token, printed once on stdout; list shows it without the secret', async () => {
    const made = wss('tenant', 'token', 'create', '--tenant', 'acme', '--expires', '30d', '--name', 'ci');
    expect(made.status).toBe(0);
    const token = made.stdout.trim();
    secrets.push(token);
    expect(token).toMatch(/^wsst_[A-Za-z0-9_-]{43}$/);
    expect(made.stderr).toMatch(/^token tok_[0-9a-f]{12} for tenant acme, expires 20\d\d-.*; shown this once:\n$/);
    const list = wss('tenant', 'token', 'list', '--tenant', 'acme');
    expect(list.stdout).toMatch(/^tok_[0-9a-f]{12} {2}read-write {2}created .* {2}expires .* {2}ci\n$/);
    expect(list.stdout + list.stderr).not.toContain(token);
    expect((await call('/api/tenants/acme/endpoints', token)).status).toBe(200);
  });

  it('a read-only token reads and cannot write; revoked, it stops on the next request', async () => {
    const made = wss('tenant', 'token', 'create', '--tenant', 'acme', '--read-only', '--json');
    const { token, id, readOnly } = JSON.parse(made.stdout) as { token: string; id: string; readOnly: boolean };
    secrets.push(token);
    expect(readOnly).toBe(true);
    expect((await call('/api/tenants/acme/endpoints/orders', token)).status).toBe(200);
    expect((await call('/api/tenants/acme/endpoints/orders', token, 'PATCH', { enabled: false })).status).toBe(403);
    expect(wss('tenant', 'token', 'revoke', '--tenant', 'acme', '--id', id).stdout).toBe(`revoked ${id}\n`);
    expect((await call('/api/tenants/acme/endpoints/orders', token)).status).toBe(401);
    const again = wss('tenant', 'token', 'revoke', '--tenant', 'acme', '--id', id);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`tenant "acme" has no token "${id}"`);
  });

  it('refuses bad input, naming it', () => {
    const badExpiry = wss('tenant', 'token', 'create', '--tenant', 'acme', '--expires', 'soon');
    expect(badExpiry.status).toBe(2);
    expect(badExpiry.stderr).toContain('--expires: must be a duration such as 90m, 12h or 30d');
    const unknown = wss('tenant', 'token', 'create', '--tenant', 'nope');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('tenant "nope" not found');
    expect(wss('tenant', 'token', 'create').status).toBe(2);
  });
});

describe('wss tenant portal-link and access', () => {
  it('prints a link under WSS_PORTAL_PUBLIC_URL that opens once', async () => {
    const made = wss('tenant', 'portal-link', '--tenant', 'acme');
    expect(made.status).toBe(0);
    const url = made.stdout.trim();
    secrets.push(url.split('/').pop()!);
    expect(url).toMatch(new RegExp(`^${base}/portal/link/wssl_[A-Za-z0-9_-]{43}$`));
    expect(made.stderr).toMatch(/^opens once, until 20/);
    const opened = await fetch(url, { redirect: 'manual' });
    expect(opened.status).toBe(200);
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    secrets.push(cookie.split('=')[1]!);
    expect((await fetch(`${base}/portal`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(url)).status).toBe(404);
  });

  it('shows and sets the allowances', () => {
    expect(wss('tenant', 'access', '--tenant', 'acme').stdout).toBe(
      'tenant acme: private URLs refused, filters and transforms refused\n',
    );
    const set = wss('tenant', 'access', '--tenant', 'acme', '--allow-private-urls', 'true', '--json');
    expect(JSON.parse(set.stdout)).toEqual({ allowPrivateUrls: true, allowExpressions: false });
    expect(wss('tenant', 'access', '--tenant', 'acme', '--allow-expressions', 'maybe').status).toBe(2);
  });
});

describe("the dashboard process's output", () => {
  it('holds no token, link code or session id, after good and bad attempts', async () => {
    await call('/api/tenants/acme/endpoints', `wsst_${'z'.repeat(43)}`);
    await fetch(`${base}/portal/link/wssl_${'z'.repeat(43)}`);
    // Let the buffered log lines out (they leave within 200 ms).
    await new Promise((r) => setTimeout(r, 500));
    const out = dash.output();
    expect(out).toContain('portal: link opened, session started');
    expect(out).toContain('tenant API: refused a token');
    expect(out).toContain('"msg":"portal: request"');
    expect(secrets.length).toBe(4);
    for (const s of secrets) expect(out).not.toContain(s);
    expect(out).not.toMatch(/wss[tls]_[A-Za-z0-9_-]{10}/);
  });
});
