// The host's own interface addresses, for the SSRF guard (lib/ssrf.ts): a webhook pointed at
// one of them reaches this host's own services (the dashboard, a Redis bound to every
// interface) whatever range the address is in. Read from the OS and kept for a few seconds, so
// an address that comes or goes (DHCP, a new interface) is seen soon without a system call per
// connection.
import { networkInterfaces } from 'node:os';
import { canonicalIp } from './ssrf.js';

const KEEP_MS = 5_000;
let cached: { atMs: number; addresses: ReadonlySet<string> } | undefined;

/** Every address of every interface of this host, canonical (canonicalIp). */
export function ownAddresses(now: () => number = Date.now): ReadonlySet<string> {
  const at = now();
  if (cached && at - cached.atMs < KEEP_MS) return cached.addresses;
  const addresses = new Set<string>();
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) {
      const c = canonicalIp(a.address);
      if (c !== undefined) addresses.add(c);
    }
  cached = { atMs: at, addresses };
  return addresses;
}
