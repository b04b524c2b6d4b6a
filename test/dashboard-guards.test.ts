// The pure parts of the dashboard's guards: the Host list and the failed-login limiter.
import { describe, expect, it } from 'vitest';
import { defaultDashboardHosts, hostAllowed, splitHostPort } from '../src/dashboard/allowed-hosts.js';
import { AUTH_LIMITS, AuthFailureLimiter } from '../src/dashboard/auth-limiter.js';

describe('hostAllowed', () => {
  const local = defaultDashboardHosts('off', 3000)!;
  it('defaults to the loopback names on the port with auth off, to any Host with auth on', () => {
    expect(local).toEqual(['localhost:3000', '127.0.0.1:3000', '[::1]:3000']);
    expect(defaultDashboardHosts('on', 3000)).toBeUndefined();
  });

  it.each([
    ['localhost:3000', true],
    ['LocalHost:3000', true],
    ['127.0.0.1:3000', true],
    ['[::1]:3000', true],
    ['localhost:3001', false],
    ['localhost', false],
    ['127.0.0.1', false],
    ['attacker.example:3000', false],
    ['localhost.attacker.example:3000', false],
    ['127.0.0.1.nip.io:3000', false],
    ['[::ffff:127.0.0.1]:3000', false],
    ['localhost:3000@evil', false],
    ['', false],
  ])('auth-off default: Host %j allowed: %s', (host, ok) => {
    expect(hostAllowed(host, local)).toBe(ok);
  });

  it('matches entries without a port on any port, and a default-port Host to :80/:443 entries', () => {
    expect(hostAllowed('dash.internal:8443', ['dash.internal'])).toBe(true);
    expect(hostAllowed('dash.internal', ['dash.internal'])).toBe(true);
    expect(hostAllowed('dash.internal', ['dash.internal:443'])).toBe(true);
    expect(hostAllowed('dash.internal', ['dash.internal:3000'])).toBe(false);
    expect(hostAllowed('other.internal', ['dash.internal'])).toBe(false);
    expect(hostAllowed(undefined, ['dash.internal'])).toBe(false);
    expect(hostAllowed(undefined, ['*'])).toBe(true);
    expect(hostAllowed('anything:1', ['*'])).toBe(true);
  });

  it('splits host and port, brackets kept for IPv6', () => {
    expect(splitHostPort('[::1]:3000')).toEqual({ host: '[::1]', port: '3000' });
    expect(splitHostPort('Dash.Internal')).toEqual({ host: 'dash.internal', port: undefined });
    expect(splitHostPort('a b')).toBeUndefined();
    expect(splitHostPort('::1')).toBeUndefined();
  });
});

describe('AuthFailureLimiter', () => {
  const limits = { maxFailures: 3, windowMs: 10_000, maxClients: 4 };

  it('blocks a client after maxFailures within the window, until the window ends', () => {
    const l = new AuthFailureLimiter(limits);
    l.fail('a', 1_000);
    l.fail('a', 2_000);
    expect(l.blockedFor('a', 2_000)).toBe(0);
    l.fail('a', 3_000);
    expect(l.blockedFor('a', 3_000)).toBe(8_000);
    expect(l.blockedFor('a', 10_999)).toBe(1);
    expect(l.blockedFor('b', 3_000)).toBe(0);
    expect(l.blockedFor('a', 11_000)).toBe(0);
    // A new window starts with the next failure.
    l.fail('a', 11_500);
    expect(l.blockedFor('a', 11_500)).toBe(0);
  });

  it('counts failures only within one window', () => {
    const l = new AuthFailureLimiter(limits);
    l.fail('a', 0);
    l.fail('a', 5_000);
    l.fail('a', 10_000); // the first window ended at 10 000: this one starts afresh
    expect(l.blockedFor('a', 10_000)).toBe(0);
  });

  it('forgets a client after a correct login', () => {
    const l = new AuthFailureLimiter(limits);
    l.fail('a', 0);
    l.fail('a', 1);
    l.succeed('a');
    l.fail('a', 2);
    l.fail('a', 3);
    expect(l.blockedFor('a', 3)).toBe(0);
  });

  it('remembers at most maxClients, dropping ended windows first, then the oldest', () => {
    const l = new AuthFailureLimiter(limits);
    for (const c of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) l.fail(c, 0);
    l.fail('d', 9_000);
    l.fail('e', 10_500); // a, b, c ended at 10 000
    expect(l.size).toBe(2);
    for (const c of ['f', 'g', 'h']) for (let i = 0; i < 3; i++) l.fail(c, 11_000);
    expect(l.size).toBe(4);
    expect(l.blockedFor('d', 11_000)).toBe(0); // forgotten: the oldest window
    expect(l.blockedFor('h', 11_000)).toBe(10_000);
  });

  it('uses the documented numbers by default', () => {
    expect(AUTH_LIMITS).toEqual({ maxFailures: 10, windowMs: 300_000, maxClients: 10_000 });
    const l = new AuthFailureLimiter();
    for (let i = 0; i < 9; i++) l.fail('x', i);
    expect(l.blockedFor('x', 9)).toBe(0);
    l.fail('x', 9);
    expect(l.blockedFor('x', 9)).toBe(300_000 - 9);
  });
});
