import { describe, expect, it } from 'vitest';
import { forbiddenAddressReason } from '../src/ssrf.js';
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

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '172.15.255.255', '100.128.0.1', '169.255.0.1', '2606:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8'])(
    '%s is allowed',
    (ip) => {
      expect(forbiddenAddressReason(ip)).toBeUndefined();
    },
  );

  it('refuses what is not an IP at all', () => {
    expect(forbiddenAddressReason('localhost')).toBe('not an IP address');
  });
});

describe('literalHostRefusal', () => {
  it.each([
    ['http://127.0.0.1:8080/x', 'refused: 127.0.0.1 is loopback (set WSS_ALLOW_PRIVATE_URLS=true to allow)'],
    ['http://169.254.169.254/latest', 'refused: 169.254.169.254 is link-local (cloud metadata) (set WSS_ALLOW_PRIVATE_URLS=true to allow)'],
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
