// The endpoint fields maxInFlight and rateLimit: bad values are refused when seeding and by the
// admin API, naming tenant, endpoint and field; good ones are stored with their defaults.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { TenantsValidationError } from '../src/lib/errors.js';
import { parseTenantsFile } from '../src/tenants/schema.js';
import { DeferLines } from '../src/endpoints/defer-lines.js';
import { basic, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';

const { redis } = useTestRedis();

const endpoint = (over: Record<string, unknown> = {}) => ({
  id: 'orders',
  url: 'https://hooks.acme.example/orders',
  secret: 'at-least-16-chars-secret',
  ...over,
});
const file = (ep: Record<string, unknown>) => ({ tenants: [{ id: 'acme', endpoints: [ep] }] });

function problemsOf(input: unknown): readonly string[] {
  try {
    parseTenantsFile(input);
  } catch (err) {
    expect(err).toBeInstanceOf(TenantsValidationError);
    return (err as TenantsValidationError).problems;
  }
  throw new Error('expected the file to be refused');
}

describe('tenants file: endpoint limits', () => {
  it('has no limit by default; rateLimit.perMs defaults to 1000', () => {
    const plain = parseTenantsFile(file(endpoint())).tenants[0]!.endpoints[0]!;
    expect(plain.maxInFlight).toBeUndefined();
    expect(plain.rateLimit).toBeUndefined();
    const limited = parseTenantsFile(file(endpoint({ maxInFlight: 4, rateLimit: { max: 50 } }))).tenants[0]!
      .endpoints[0]!;
    expect(limited.maxInFlight).toBe(4);
    expect(limited.rateLimit).toEqual({ max: 50, perMs: 1000 });
  });

  it.each([
    [{ maxInFlight: -1 }, 'tenant "acme" endpoint "orders" field "maxInFlight": must be at least 1'],
    [{ maxInFlight: 0 }, 'tenant "acme" endpoint "orders" field "maxInFlight": must be at least 1'],
    [{ maxInFlight: 1.5 }, 'tenant "acme" endpoint "orders" field "maxInFlight": must be a whole number'],
    [
      { maxInFlight: '2' },
      'tenant "acme" endpoint "orders" field "maxInFlight": must be a whole number from 1 to 10000',
    ],
    [{ rateLimit: { perMs: 1000 } }, 'tenant "acme" endpoint "orders" field "rateLimit.max": is required'],
    [
      { rateLimit: { max: -5, perMs: 1000 } },
      'tenant "acme" endpoint "orders" field "rateLimit.max": must be at least 1',
    ],
    [
      { rateLimit: { max: 5, perMs: 0 } },
      'tenant "acme" endpoint "orders" field "rateLimit.perMs": must be at least 1',
    ],
    [{ rateLimit: { max: 5, per: 1000 } }, 'tenant "acme" endpoint "orders" field "rateLimit"'],
  ])('%j is refused: %s', (over, expected) => {
    expect(problemsOf(file(endpoint(over))).join('\n')).toContain(expected);
  });
});

describe('deferral line (pure)', () => {
  it('spaces deferred jobs one rate interval apart, starting at the hint', () => {
    const clock = { t: 1_000 };
    const lines = new DeferLines(() => clock.t);
    const limits = { rateLimit: { max: 20, perMs: 1_000 } };
    expect([0, 1, 2].map(() => lines.defer('a/x', 900, limits))).toEqual([900, 950, 1000]);
    // A pause longer than the line's reach is still honoured in full.
    expect(lines.defer('a/y', 600_000, limits)).toBe(600_000);
  });
});

describe('admin API: endpoint limits', () => {
  const PASSWORD = 'endpoint-limits-test-password';
  let t: TestContext;
  let dash: RunningDashboard;
  beforeAll(async () => {
    t = await startTestContext({ WSS_DASHBOARD_PASSWORD: PASSWORD }, redis());
    dash = await startDashboard(t.ctx);
  });
  afterAll(async () => {
    await dash?.stop();
    await t?.close();
  });
  const put = async (body: unknown) => {
    const res = await fetch(`${dash.url}/api/tenants/acme/endpoints/orders`, {
      method: 'PUT',
      headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as { problems?: string[] } };
  };

  it('refuses a rateLimit without max and a negative maxInFlight with 400 naming the field; stores good limits', async () => {
    const base = { url: 'https://hooks.acme.example/orders', secret: 'acme-orders-secret-0123456789' };
    const noMax = await put({ ...base, rateLimit: { perMs: 1000 } });
    expect(noMax.status).toBe(400);
    expect(noMax.json.problems?.join('\n')).toContain('field "rateLimit.max"');
    const negative = await put({ ...base, maxInFlight: -3 });
    expect(negative.status).toBe(400);
    expect(negative.json.problems?.join('\n')).toContain('field "maxInFlight"');
    expect(await t.ctx.registry.getEndpointConfig('acme', 'orders')).toBeUndefined();

    expect((await put({ ...base, maxInFlight: 3, rateLimit: { max: 10, perMs: 500 } })).status).toBe(201);
    expect(await t.ctx.registry.getEndpointConfig('acme', 'orders')).toMatchObject({
      maxInFlight: 3,
      rateLimit: { max: 10, perMs: 500 },
    });
  });
});
