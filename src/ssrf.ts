// Which addresses a webhook may not reach unless WSS_ALLOW_PRIVATE_URLS=true. Pure.
import { BlockList, isIP } from 'node:net';

const v4: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const v6: Array<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

const lists = [...v4.map(([a, p, why]) => ({ a, p, why, t: 'ipv4' as const })), ...v6.map(([a, p, why]) => ({ a, p, why, t: 'ipv6' as const }))].map(
  ({ a, p, why, t }) => {
    const list = new BlockList();
    list.addSubnet(a, p, t);
    return { list, why, t };
  },
);

/** IPv4 carried inside IPv6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, compatible ::a.b.c.d). */
function embeddedV4(ip: string): string | undefined {
  const lower = ip.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::|::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** Why `ip` is refused (e.g. "loopback"), or undefined when it is a public address. */
export function forbiddenAddressReason(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const inner = embeddedV4(ip);
    if (inner !== undefined) return forbiddenAddressReason(inner);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const { list, why, t } of lists) if (t === type && list.check(ip, type)) return why;
  return undefined;
}
