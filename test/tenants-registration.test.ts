// Registration rules of the tenants schema: custom headers, the secretEnv prefix, and private
// URLs refused when WSS_ALLOW_PRIVATE_URLS is false; and readSecretEnv's own prefix check.
import { describe, expect, it } from 'vitest';
import { readSecretEnv } from '../src/config.js';
import { TenantsValidationError } from '../src/lib/errors.js';
import { privateUrlProblem } from '../src/tenants/endpoint-url.js';
import { parseEndpoint, parseTenantsFile } from '../src/tenants/schema.js';

const endpoint = (over: Record<string, unknown> = {}) => ({
  id: 'orders',
  url: 'https://hooks.acme.example/orders',
  secret: 'at-least-16-chars-secret',
  ...over,
});
const file = (ep: Record<string, unknown>) => ({ tenants: [{ id: 'acme', endpoints: [ep] }] });

function problemsOf(input: unknown, rules?: { allowPrivateUrls: boolean }): string {
  try {
    parseTenantsFile(input, rules);
  } catch (err) {
    expect(err).toBeInstanceOf(TenantsValidationError);
    return (err as TenantsValidationError).problems.join('\n');
  }
  throw new Error('expected the file to be refused');
}

describe('custom headers', () => {
  it.each([
    [{ 'X-Note': 'a\r\nX-Injected: 1' }, 'field "headers.X-Note": value may hold only visible ASCII'],
    [{ 'X-Note': 'line\nbreak' }, 'field "headers.X-Note": value'],
    [{ 'X-Note': 'nul\u0000' }, 'field "headers.X-Note": value'],
    [{ 'X-Note': 'bell\u0007' }, 'field "headers.X-Note": value'],
    [{ 'X-Note': 'del\u007f' }, 'field "headers.X-Note": value'],
    [{ 'X-Note': 'café' }, 'field "headers.X-Note": value'],
    [{ 'X Note': 'v' }, 'field "headers.X Note": is not a valid header name'],
    [{ 'X-Note:': 'v' }, 'field "headers.X-Note:": is not a valid header name'],
    [{ '': 'v' }, 'is not a valid header name'],
    [{ 'X-Ñote': 'v' }, 'is not a valid header name'],
    [{ 'Proxy-Authorization': 'Basic x' }, 'field "headers.Proxy-Authorization": may not be set'],
    [{ 'proxy-connection': 'keep-alive' }, 'field "headers.proxy-connection": may not be set'],
    [{ Trailer: 'X-Sum' }, 'field "headers.Trailer": may not be set'],
    [{ 'Content-Encoding': 'gzip' }, 'field "headers.Content-Encoding": may not be set'],
    [{ date: 'Tue, 1 Jan 2030 00:00:00 GMT' }, 'field "headers.date": may not be set'],
    [{ 'X-Source': 'a', 'x-source': 'b' }, 'field "headers.x-source": duplicates header "X-Source"'],
  ])('refuses %j naming the header', (headers, expected) => {
    const problems = problemsOf(file(endpoint({ headers })));
    expect(problems).toContain('tenant "acme" endpoint "orders"');
    expect(problems).toContain(expected);
  });

  it('never quotes a refused header value', () => {
    expect(problemsOf(file(endpoint({ headers: { Authorization: 'Bearer tok-SECRET-123\r\n' } })))).not.toContain(
      'tok-SECRET-123',
    );
  });

  it('accepts visible ASCII, spaces and tabs, and distinct names', () => {
    const headers = {
      Authorization: 'Bearer abc.DEF-123_~+/=',
      'X-Source': 'acme bus\tv2',
      "X-Odd!#$%&'*+.^_`|~": '"quoted" (ok) [x]',
      'X-Empty': '',
    };
    expect(parseEndpoint(endpoint({ headers })).headers).toEqual(headers);
  });
});

describe('secretEnv', () => {
  it.each([
    'WSS_DASHBOARD_PASSWORD',
    'GLOBEX_WEBHOOK_SECRET',
    'WSS_SECRET_',
    'wss_secret_acme',
    'PATH',
    'WSS_SECRET_A-B',
  ])('refuses %s', (name) => {
    const problems = problemsOf(file(endpoint({ secret: undefined, secretEnv: name })));
    expect(problems).toContain(
      'tenant "acme" endpoint "orders" field "secretEnv": must be an environment variable name starting with WSS_SECRET_',
    );
  });

  it('accepts WSS_SECRET_ names', () => {
    expect(parseEndpoint(endpoint({ secret: undefined, secretEnv: 'WSS_SECRET_ACME_ORDERS' })).secretEnv).toBe(
      'WSS_SECRET_ACME_ORDERS',
    );
  });

  it('readSecretEnv reads only WSS_SECRET_ variables', () => {
    process.env.WSS_SECRET_UNIT_TEST = 'unit-secret-value';
    process.env.WSS_UNIT_NOT_A_SECRET = 'other-value';
    try {
      expect(readSecretEnv('WSS_SECRET_UNIT_TEST')).toBe('unit-secret-value');
      expect(readSecretEnv('WSS_UNIT_NOT_A_SECRET')).toBeUndefined();
      expect(readSecretEnv('PATH')).toBeUndefined();
    } finally {
      delete process.env.WSS_SECRET_UNIT_TEST;
      delete process.env.WSS_UNIT_NOT_A_SECRET;
    }
  });
});

describe('private URLs at registration', () => {
  const strict = { allowPrivateUrls: false };

  it.each([
    ['http://127.0.0.1:4000/hook', 'loopback'],
    ['http://10.1.2.3/hook', 'private'],
    ['http://169.254.169.254/latest/meta-data', 'link-local'],
    ['http://[::1]:8080/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://2130706433/', 'loopback'], // the URL parser turns it into 127.0.0.1
    ['http://0.0.0.0/', 'unspecified'],
    ['http://localhost:3000/', 'localhost'],
    ['http://LOCALHOST./', 'localhost'],
    ['http://api.localhost/', 'localhost'],
  ])('refuses %s (%s) naming the field', (url, why) => {
    const problems = problemsOf(file(endpoint({ url })), strict);
    expect(problems).toContain('tenant "acme" endpoint "orders" field "url"');
    expect(problems).toContain(why);
    expect(problems).toContain('WSS_ALLOW_PRIVATE_URLS');
    expect(() => parseEndpoint(endpoint({ url }), strict)).toThrow(/field "url"/);
  });

  it('accepts public addresses and names (names are checked again at connect time)', () => {
    for (const url of [
      'https://hooks.acme.example/x',
      'http://93.184.216.34/x',
      'http://[2606:4700::1111]/',
      'http://localhost.example.com/',
    ]) {
      expect(privateUrlProblem(url)).toBeUndefined();
      expect(parseEndpoint(endpoint({ url }), strict).url).toBe(url);
    }
  });

  it('allows private URLs when WSS_ALLOW_PRIVATE_URLS is true, and without rules (shape only)', () => {
    expect(parseEndpoint(endpoint({ url: 'http://127.0.0.1:4000/' }), { allowPrivateUrls: true }).url).toBe(
      'http://127.0.0.1:4000/',
    );
    expect(parseTenantsFile(file(endpoint({ url: 'http://localhost/' }))).tenants).toHaveLength(1);
  });
});
