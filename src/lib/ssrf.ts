// Which addresses a webhook may not reach unless WSS_ALLOW_PRIVATE_URLS=true: private,
// loopback, link-local and other special-purpose ranges (documentation ranges included: a
// host may well sit on one, as test networks do), and the host's own interface addresses,
// which the caller passes in (lib/own-addresses.ts reads them). Pure.
import { BlockList, isIP } from 'node:net';

const v4: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation (TEST-NET-1)'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation (TEST-NET-2)'],
  ['203.0.113.0', 24, 'documentation (TEST-NET-3)'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const v6: Array<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

const lists = [
  ...v4.map(([a, p, why]) => ({ a, p, why, t: 'ipv4' as const })),
  ...v6.map(([a, p, why]) => ({ a, p, why, t: 'ipv6' as const })),
].map(({ a, p, why, t }) => {
  const list = new BlockList();
  list.addSubnet(a, p, t);
  return { list, why, t };
});

/**
 * The eight 16-bit groups of an IPv6 address in any textual form (compressed, expanded,
 * zero-padded, upper case, with a trailing dotted quad, with a %zone), or undefined.
 */
export function ipv6Groups(ip: string): number[] | undefined {
  let s = ip.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const tail: number[] = [];
  const dotted = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (dotted) {
    const b = dotted.slice(2, 6).map(Number);
    if (b.some((x) => x > 255)) return undefined;
    tail.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
    s = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 1) return given === 8 ? [...head, ...tail] : undefined;
  if (given > 7) return undefined;
  return [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
}

const dottedQuad = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
const allZero = (gs: number[]) => gs.every((g) => g === 0);

/**
 * The IPv4 address an IPv6 address stands for, when it is one of the forms that carry one:
 * IPv4-compatible ::/96, mapped ::ffff:0:0/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48 (RFC 8215),
 * 6to4 2002::/16 (bits 16–47) and Teredo 2001::/32 (client = NOT of the last 32 bits).
 */
export function embeddedIpv4(g: readonly number[]): string | undefined {
  const [a, b, c, d, e, f, hi, lo] = g as [number, number, number, number, number, number, number, number];
  if (allZero([a, b, c, d, e]) && (f === 0 || f === 0xffff)) return dottedQuad(hi, lo);
  if (a === 0x64 && b === 0xff9b && allZero([c, d, e, f])) return dottedQuad(hi, lo);
  if (a === 0x64 && b === 0xff9b && c === 1) return dottedQuad(hi, lo);
  if (a === 0x2002) return dottedQuad(b, c);
  if (a === 0x2001 && b === 0) return dottedQuad(~hi & 0xffff, ~lo & 0xffff);
  return undefined;
}

const NONE: ReadonlySet<string> = new Set();
export const OWN_ADDRESS = "this host's own address";

/** One spelling per address (IPv6: eight hex groups, zone dropped), to compare addresses by. */
export function canonicalIp(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 4) return ip;
  const g = family === 6 ? ipv6Groups(ip) : undefined;
  return g?.map((x) => x.toString(16)).join(':');
}

/**
 * Why `ip` is refused (e.g. "loopback"), or undefined when it is a public address. `own`: the
 * host's interface addresses, canonical (canonicalIp): one of them reaches this host's own
 * services, whatever its range.
 */
export function forbiddenAddressReason(ip: string, own: ReadonlySet<string> = NONE): string | undefined {
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const g = ipv6Groups(ip);
    if (!g) return 'not an IP address';
    const canonical = g.map((x) => x.toString(16)).join(':');
    // :: and ::1 lie inside ::/96 but are IPv6's own unspecified and loopback addresses.
    for (const { list, why, t } of lists) if (t === 'ipv6' && list.check(canonical, 'ipv6')) return why;
    const inner = embeddedIpv4(g);
    if (inner !== undefined) {
      const why = forbiddenAddressReason(inner, own);
      if (why !== undefined) return why;
      // RFC 8215 lets a network place the IPv4 address elsewhere inside 64:ff9b:1::/48 (prefixes
      // /48 to /96). Only the /96 layout can be read with certainty; anything else is refused.
      if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1 && !allZero(g.slice(3, 6))) return 'local-use NAT64';
    }
    return own.has(canonical) ? OWN_ADDRESS : undefined;
  }
  for (const { list, why, t } of lists) if (t === 'ipv4' && list.check(ip, 'ipv4')) return why;
  // Checked last: a range's own name (loopback, private, …) says more where both apply.
  return own.has(ip) ? OWN_ADDRESS : undefined;
}
