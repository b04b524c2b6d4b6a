import { describe, expect, it } from 'vitest';
import { TenantsValidationError } from '../src/lib/errors.js';
import { DEFAULTS, parseEndpoint, parseTenantsFile } from '../src/tenants/schema.js';

const endpoint = (over: Record<string, unknown> = {}) => ({
  id: 'orders',
  url: 'https://hooks.acme.example/orders',
  secret: 'at-least-16-chars-secret',
  ...over,
});
const file = (ep: Record<string, unknown>, more: Record<string, unknown>[] = []) => ({
  tenants: [{ id: 'acme', endpoints: [ep, ...more] }],
});

function problemsOf(input: unknown): readonly string[] {
  try {
    parseTenantsFile(input);
  } catch (err) {
    expect(err).toBeInstanceOf(TenantsValidationError);
    return (err as TenantsValidationError).problems;
  }
  throw new Error('expected the file to be refused');
}

describe('tenants file', () => {
  it('fills the documented defaults', () => {
    const f = parseTenantsFile(file(endpoint()));
    const ep = f.tenants[0]!.endpoints[0]!;
    expect(ep.events).toEqual(['*']);
    expect(ep.timeoutMs).toBe(DEFAULTS.timeoutMs);
    expect(ep.retry).toEqual({ attempts: 20, backoffMs: 5000 });
    expect(ep.enabled).toBe(true);
    expect(ep.headers).toEqual({});
  });

  it('accepts the docs/tenants.md example', () => {
    const f = parseTenantsFile(
      file(
        endpoint({
          events: ['order.*', 'invoice.paid'],
          filter: "data.status in ['shipped','delivered']",
          transform: "{ 'orderId': data.orderId, 'status': data.status }",
          headers: { 'X-Source': 'acme-bus' },
          timeoutMs: 10000,
          retry: { attempts: 12, backoffMs: 5000 },
          enabled: true,
        }),
      ),
    );
    expect(f.tenants[0]!.endpoints[0]!.retry.attempts).toBe(12);
  });

  it.each([
    [{ url: 'ftp://x.example/' }, 'field "url"'],
    [{ url: 'not a url' }, 'field "url"'],
    [{ secret: 'short' }, 'field "secret"'],
    [{ filter: 'data.status in [' }, 'field "filter": invalid jsonata'],
    [{ transform: '{ "a": }' }, 'field "transform": invalid jsonata'],
    [{ headers: { 'X-WSS-Signature': 'forged' } }, 'field "headers.X-WSS-Signature"'],
    [{ headers: { 'content-type': 'text/plain' } }, 'field "headers.content-type"'],
    [{ retry: { attempts: 0 } }, 'field "retry.attempts"'],
    [{ timeoutMs: 5 }, 'field "timeoutMs"'],
    [{ events: [] }, 'field "events"'],
    [{ enabled: 'yes' }, 'field "enabled"'],
    [{ surprise: 1 }, 'surprise'],
    [{ circuit: { failures: 0 } }, 'field "circuit.failures"'],
    [{ circuit: { failures: -3 } }, 'field "circuit.failures"'],
    [{ circuit: { coolDownMs: 10 } }, 'field "circuit.coolDownMs"'],
    [{ circuit: { coolDownMs: 1.5 } }, 'field "circuit.coolDownMs"'],
    [{ circuit: { threshold: 5 } }, 'field "circuit"'],
  ])('refuses %j naming tenant, endpoint and field', (over, expected) => {
    const problems = problemsOf(file(endpoint(over)));
    expect(problems.join('\n')).toContain('tenant "acme" endpoint "orders"');
    expect(problems.join('\n')).toContain(expected);
  });

  // jsonata throws plain objects: the message once read `invalid jsonata: [object Object]`.
  it.each([
    ['data.status = ', 'invalid jsonata: Unexpected end of expression (S0207 at position 14)'],
    ['$foo(', 'invalid jsonata: Expected ")" before end of expression (S0203 at position 5)'],
    [')', 'invalid jsonata: The symbol ")" cannot be used as a unary operator (S0211 at position 1)'],
  ])("a filter that does not compile (%j) gets jsonata's message, code and position", (filter, expected) => {
    const text = problemsOf(file(endpoint({ filter }))).join('\n');
    expect(text).toContain(`tenant "acme" endpoint "orders" field "filter": ${expected}`);
    expect(text).not.toContain('[object Object]');
  });

  it('requires exactly one of secret and secretEnv', () => {
    expect(problemsOf(file(endpoint({ secret: undefined }))).join()).toContain(
      'exactly one of "secret", "secretEnv" or "secrets"',
    );
    expect(problemsOf(file(endpoint({ secretEnv: 'WSS_SECRET_ACME_ORDERS' }))).join()).toContain('exactly one');
    expect(
      parseTenantsFile(file(endpoint({ secret: undefined, secretEnv: 'WSS_SECRET_ACME_ORDERS' }))).tenants[0]!
        .endpoints[0]!.secretEnv,
    ).toBe('WSS_SECRET_ACME_ORDERS');
  });

  it('names invalid ids by position and refuses duplicates', () => {
    expect(problemsOf({ tenants: [{ id: 'Acme!', endpoints: [] }] }).join()).toContain('tenant "Acme!" field "id"');
    expect(problemsOf(file(endpoint(), [endpoint()])).join()).toContain('duplicate endpoint id "orders"');
    expect(problemsOf({ tenants: [{ id: 'a' }, { id: 'a' }] }).join()).toContain('duplicate tenant id "a"');
    expect(problemsOf({ tenants: [{ id: 'a', endpoints: [{ url: 'https://x.example' }] }] }).join()).toContain(
      'tenant "a" endpoint #0 field "id"',
    );
  });

  it('never echoes a secret in an error', () => {
    const secret = 'super-secret-value-1234';
    const problems = problemsOf(file(endpoint({ secret, url: 'nope' })));
    expect(problems.join()).not.toContain(secret);
  });

  it('validates a single endpoint for the admin API', () => {
    expect(parseEndpoint(endpoint()).id).toBe('orders');
    expect(() => parseEndpoint(endpoint({ url: 'x' }))).toThrow(/field "url"/);
  });
});
