// What the tenant API and portal suites share: a dashboard (optionally with a worker and a
// bridge) on the file's private Redis, two tenants (acme and globex) with an endpoint each,
// and requests made as the operator (basic auth), with a tenant token (Bearer) or with a
// portal session (cookie, plus the headers a browser sends on a same-origin form post).
import { afterAll } from 'vitest';
import type { Env } from '../../src/config.js';
import { startDashboard, type RunningDashboard } from '../../src/dashboard/server.js';
import { startBridge } from '../../src/producers/bridge.js';
import type { RunningRole } from '../../src/roles.js';
import { startWorker } from '../../src/workers/worker.js';
import { basic, orderEndpoint, startTestContext, type TestContext } from './dashboard-context.js';
import { startReceiver, type Receiver } from './receiver.js';
import type { TestRedis } from './redis-server.js';

export const PASSWORD = 'tenant-stack-password';
export const SECRET_A = 'acme-orders-secret-0123456789';
export const SECRET_B = 'globex-billing-secret-0123456789';

export type Credential = { basic: true } | { token: string } | { cookie: string } | undefined;

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export interface TenantStack {
  t: TestContext;
  dash: RunningDashboard;
  receiver: Receiver;
  url: string;
  call(
    method: string,
    path: string,
    cred: Credential,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer>;
  /** A token for `tenant` made through the admin API. */
  token(tenant: string, opts?: { readOnly?: boolean; expiresIn?: string }): Promise<{ token: string; id: string }>;
  /** A portal session for `tenant`: the cookie's `name=value`. */
  session(tenant: string, opts?: { readOnly?: boolean }): Promise<string>;
  /** A portal form post as the browser sends it from the portal's own page. */
  form(path: string, cookie: string, fields: Record<string, string>): Promise<Answer>;
  allow(tenant: string, change: { allowPrivateUrls?: boolean; allowExpressions?: boolean }): Promise<void>;
}

export interface StackOptions {
  env?: Env;
  /** Start a worker and a bridge too (deliveries happen). */
  deliver?: boolean;
}

export function useTenantStack(redis: () => TestRedis): { start(o?: StackOptions): Promise<TenantStack> } {
  const roles: RunningRole[] = [];
  let t: TestContext | undefined;
  let receiver: Receiver | undefined;
  afterAll(async () => {
    for (const r of roles.reverse()) await r.stop();
    await receiver?.close();
    await t?.close();
  });
  return {
    async start(o: StackOptions = {}) {
      receiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
      t = await startTestContext(
        { WSS_DASHBOARD_PASSWORD: PASSWORD, WSS_BLOCK_MS: '100', WSS_MAX_BACKOFF_MS: '100', ...o.env },
        redis(),
      );
      await t.ctx.registry.putEndpoint('acme', orderEndpoint('orders', `${receiver.url}/acme`, SECRET_A));
      await t.ctx.registry.putEndpoint('globex', orderEndpoint('billing', `${receiver.url}/globex`, SECRET_B));
      if (o.deliver) {
        roles.push(await startWorker(t.ctx));
        roles.push(await startBridge(t.ctx));
      }
      const dash = await startDashboard(t.ctx, { roles: () => roles });
      roles.push(dash);
      const url = dash.url;
      const call: TenantStack['call'] = async (method, path, cred, body, headers = {}) => {
        const h: Record<string, string> = { ...headers };
        if (cred && 'basic' in cred) h.authorization = basic('admin', PASSWORD);
        if (cred && 'token' in cred) h.authorization = `Bearer ${cred.token}`;
        if (cred && 'cookie' in cred) h.cookie = cred.cookie;
        if (body !== undefined && typeof body !== 'string') h['content-type'] = 'application/json';
        const res = await fetch(`${url}${path}`, {
          method,
          headers: h,
          redirect: 'manual',
          ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
        });
        const text = await res.text();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        return { status: res.status, headers: res.headers, text, json };
      };
      const stack: TenantStack = {
        t,
        dash,
        receiver,
        url,
        call,
        async token(tenant, opts = {}) {
          const res = await call('POST', `/api/tenants/${tenant}/tokens`, { basic: true }, opts);
          if (res.status !== 201) throw new Error(`token for ${tenant}: ${res.status} ${res.text}`);
          return res.json as { token: string; id: string };
        },
        async session(tenant, opts = {}) {
          const link = await call('POST', `/api/tenants/${tenant}/portal-links`, { basic: true }, opts);
          if (link.status !== 201) throw new Error(`link for ${tenant}: ${link.status} ${link.text}`);
          const path = new URL((link.json as { url: string }).url).pathname;
          const opened = await call('GET', path, undefined);
          const cookie = opened.headers.get('set-cookie');
          if (opened.status !== 200 || !cookie) throw new Error(`opening the link: ${opened.status}`);
          return cookie.split(';')[0]!;
        },
        form(path, cookie, fields) {
          return call('POST', path, { cookie }, new URLSearchParams(fields).toString(), {
            'content-type': 'application/x-www-form-urlencoded',
            origin: url,
            'sec-fetch-site': 'same-origin',
          });
        },
        async allow(tenant, change) {
          const res = await call('PUT', `/api/tenants/${tenant}/access`, { basic: true }, change);
          if (res.status !== 200) throw new Error(`allowances of ${tenant}: ${res.status} ${res.text}`);
        },
      };
      return stack;
    },
  };
}
