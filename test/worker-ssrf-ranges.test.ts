// The SSRF guard's documentation ranges and the host's own addresses (issue 18): TEST-NET-1/2/3,
// 192.88.99.0/24, 2001:db8::/32 (and 3fff::/20) are refused like private ranges, and so is any
// address of this host's own interfaces whatever its range (a receiver-looking URL must not
// reach the dashboard or a Redis bound to every interface). Pure known answers and registration;
// the worker against a real server on the host's interface address: worker-ssrf-host.test.ts.
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ownAddresses } from '../src/lib/own-addresses.js';
import { canonicalIp, forbiddenAddressReason, OWN_ADDRESS } from '../src/lib/ssrf.js';
import { parseEndpoint } from '../src/tenants/schema.js';

describe('documentation ranges', () => {
  it.each([
    ['192.0.2.1', 'documentation (TEST-NET-1)'],
    ['192.0.2.255', 'documentation (TEST-NET-1)'],
    ['198.51.100.7', 'documentation (TEST-NET-2)'],
    ['203.0.113.200', 'documentation (TEST-NET-3)'],
    ['192.88.99.1', '6to4 relay anycast'],
    ['2001:db8::1', 'documentation'],
    ['2001:0DB8:ffff::1', 'documentation'],
    ['3fff:0fff::1', 'documentation'],
    ['::ffff:203.0.113.9', 'documentation (TEST-NET-3)'],
    ['64:ff9b::198.51.100.1', 'documentation (TEST-NET-2)'],
  ])('%s is refused as %s', (ip, why) => {
    expect(forbiddenAddressReason(ip)).toBe(why);
  });

  it.each(['192.0.3.1', '198.51.101.1', '203.0.112.255', '192.88.100.1', '2001:db9::1', '4000::1'])(
    '%s is allowed',
    (ip) => {
      expect(forbiddenAddressReason(ip)).toBeUndefined();
    },
  );

  it('registration refuses them too, naming the field', () => {
    expect(() =>
      parseEndpoint(
        { id: 'doc', url: 'https://203.0.113.5/hook', secret: 'doc-secret-0123456789' },
        { allowPrivateUrls: false },
      ),
    ).toThrow('field "url": is a private address (documentation (TEST-NET-3)); set WSS_ALLOW_PRIVATE_URLS=true');
  });
});

describe("the host's own addresses", () => {
  it('refuses an otherwise public address that is one of them, in any spelling', () => {
    const own = new Set([canonicalIp('8.8.4.4')!, canonicalIp('2a01:4f8::1')!]);
    expect(forbiddenAddressReason('8.8.4.4', own)).toBe(OWN_ADDRESS);
    expect(forbiddenAddressReason('2a01:04f8:0:0:0:0:0:0001', own)).toBe(OWN_ADDRESS);
    expect(forbiddenAddressReason('::ffff:8.8.4.4', own)).toBe(OWN_ADDRESS);
    expect(forbiddenAddressReason('8.8.8.8', own)).toBeUndefined();
    // A range's own name wins where both apply.
    expect(forbiddenAddressReason('127.0.0.1', new Set(['127.0.0.1']))).toBe('loopback');
  });

  it('ownAddresses lists every interface address of this host', () => {
    const expected = Object.values(networkInterfaces())
      .flatMap((l) => l ?? [])
      .map((a) => canonicalIp(a.address));
    expect([...ownAddresses()].sort()).toEqual([...new Set(expected)].sort());
  });
});
