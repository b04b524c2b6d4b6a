import { describe, expect, it } from 'vitest';
import { embeddedIpv4, forbiddenAddressReason, ipv6Groups } from '../src/lib/ssrf.js';
import { literalHostRefusal } from '../src/workers/http.js';

describe('forbiddenAddressReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local (cloud metadata)'],
    ['::FFFF:10.0.0.1', 'private'],
    ['64:ff9b::169.254.169.254', 'link-local (cloud metadata)'],
  ])('%s is refused as %s', (ip, why) => {
    expect(forbiddenAddressReason(ip)).toBe(why);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '172.15.255.255',
    '100.128.0.1',
    '169.255.0.1',
    '2606:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
  ])('%s is allowed', (ip) => {
    expect(forbiddenAddressReason(ip)).toBeUndefined();
  });

  it('refuses what is not an IP at all', () => {
    expect(forbiddenAddressReason('localhost')).toBe('not an IP address');
  });
});

// IPv6 forms that carry an IPv4 address are judged by that address, whatever their spelling.
describe('forbiddenAddressReason: IPv4 embedded in IPv6', () => {
  it.each([
    // mapped ::ffff:0:0/96, spelled every way
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['0000:0000:0000:0000:0000:FFFF:7F00:0001', 'loopback'],
    ['::FFFF:7F00:1', 'loopback'],
    ['0:0:0:0:0:ffff:127.0.0.1', 'loopback'],
    ['::ffff:0a00:0001', 'private'],
    ['::ffff:169.254.169.254%eth0', 'link-local (cloud metadata)'],
    // IPv4-compatible ::/96
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['::a9fe:a9fe', 'link-local (cloud metadata)'],
    ['0:0:0:0:0:0:c0a8:0101', 'private'],
    ['::0.0.0.2', 'unspecified'],
    // NAT64 well-known 64:ff9b::/96
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:FF9B:0:0:0:0:A9FE:A9FE', 'link-local (cloud metadata)'],
    ['0064:ff9b:0000:0000:0000:0000:10.1.2.3', 'private'],
    // NAT64 local-use 64:ff9b:1::/48
    ['64:ff9b:1::7f00:1', 'loopback'],
    ['64:ff9b:1::192.168.0.1', 'private'],
    ['64:ff9b:1:0:0:0:a9fe:a9fe', 'link-local (cloud metadata)'],
    ['64:ff9b:1:ab::808:808', 'local-use NAT64'],
    // 6to4 2002::/16, IPv4 in bits 16-47
    ['2002:7f00:1::', 'loopback'],
    ['2002:a9fe:a9fe::1', 'link-local (cloud metadata)'],
    ['2002:C0A8:0101:0:0:0:0:1', 'private'],
    // Teredo 2001::/32: the client IPv4 is the bitwise NOT of the last 32 bits
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'],
    ['2001::f5ff:fffe', 'private'],
    ['2001:0000:0000:0000:0000:0000:5601:5601', 'link-local (cloud metadata)'],
    // IPv6's own loopback/unspecified stay what they are although they lie inside ::/96
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['0000:0000:0000:0000:0000:0000:0000:0000', 'unspecified'],
    ['FE80::1', 'link-local'],
    ['FD00:0:0:0:0:0:0:1', 'unique-local'],
  ])('%s is refused as %s', (ip, why) => {
    expect(forbiddenAddressReason(ip)).toBe(why);
  });

  it.each([
    '0:0:0:0:0:ffff:808:808',
    '::FFFF:8.8.8.8',
    '::8.8.8.8',
    '64:ff9b::8.8.8.8',
    '64:ff9b:1::808:808',
    '2002:808:808::1',
    // Teredo with client 8.8.8.8 (NOT = f7f7:f7f7); its server part may be anything
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
    // (2001:db8::/32 is documentation: refused since issue 18, worker-ssrf-ranges.test.ts)
    '2001:0db9::1',
    '2606:4700:0000:0000:0000:0000:0000:1111',
  ])('%s is allowed', (ip) => {
    expect(forbiddenAddressReason(ip)).toBeUndefined();
  });

  it('reads the groups of any spelling and the embedded address of each form', () => {
    expect(ipv6Groups('::ffff:127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(ipv6Groups('0000:0000:0000:0000:0000:FFFF:7F00:0001')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(ipv6Groups('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(ipv6Groups('1:2:3:4:5:6:7')).toBeUndefined();
    expect(ipv6Groups('1::2::3')).toBeUndefined();
    expect(ipv6Groups('::1.2.3.256')).toBeUndefined();
    expect(embeddedIpv4([0, 0, 0, 0, 0, 0xffff, 0x0a00, 1])).toBe('10.0.0.1');
    expect(embeddedIpv4([0x2002, 0xc0a8, 0x0101, 0, 0, 0, 0, 1])).toBe('192.168.1.1');
    expect(embeddedIpv4([0x2001, 0, 0x4136, 0xe378, 0x8000, 0x63bf, 0x80ff, 0xfffe])).toBe('127.0.0.1');
    expect(embeddedIpv4([0x2606, 0x4700, 0, 0, 0, 0, 0, 0x1111])).toBeUndefined();
  });
});

describe('literalHostRefusal', () => {
  it.each([
    ['http://127.0.0.1:8080/x', 'refused: 127.0.0.1 is loopback (set WSS_ALLOW_PRIVATE_URLS=true to allow)'],
    [
      'http://169.254.169.254/latest',
      'refused: 169.254.169.254 is link-local (cloud metadata) (set WSS_ALLOW_PRIVATE_URLS=true to allow)',
    ],
    ['http://[::1]:3000/', 'refused: ::1 is loopback (set WSS_ALLOW_PRIVATE_URLS=true to allow)'],
    // The URL parser normalises these before we look: mapped, hex and decimal forms.
    ['http://[::ffff:127.0.0.1]/', 'refused: ::ffff:7f00:1 is loopback (set WSS_ALLOW_PRIVATE_URLS=true to allow)'],
    ['http://0x7f.1/', 'refused: 127.0.0.1 is loopback (set WSS_ALLOW_PRIVATE_URLS=true to allow)'],
    ['http://2130706433/', 'refused: 127.0.0.1 is loopback (set WSS_ALLOW_PRIVATE_URLS=true to allow)'],
  ])('%s', (url, reason) => {
    expect(literalHostRefusal(new URL(url))).toBe(reason);
  });

  it('leaves names (checked at connect time) and public IPs alone', () => {
    expect(literalHostRefusal(new URL('http://localhost:3000/'))).toBeUndefined();
    expect(literalHostRefusal(new URL('https://hooks.example.com/'))).toBeUndefined();
    expect(literalHostRefusal(new URL('https://8.8.8.8/'))).toBeUndefined();
    expect(literalHostRefusal(new URL('https://[2606:4700::1111]/'))).toBeUndefined();
  });
});
