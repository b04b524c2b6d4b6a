// Writes a large registry straight into Redis with pipelines (the API would take minutes for
// 100,000 endpoints), in the registry's own encoding: registryKeys for the keys and
// encodeEndpoint for the values, exactly what Registry.seed stores.
import type { Redis } from 'ioredis';
import { encodeEndpoint } from '../../src/signing/stored-secrets.js';
import { registryKeys } from '../../src/tenants/registry-log.js';
import { parseEndpoint, type EndpointConfig } from '../../src/tenants/schema.js';

export const tenantId = (i: number) => `t${String(i).padStart(5, '0')}`;

export async function writeBulkRegistry(
  redis: Redis,
  prefix: string,
  opts: { tenants: number; perTenant: number; url?: string },
): Promise<void> {
  const keys = registryKeys(prefix);
  const template = parseEndpoint({
    id: 'e0',
    url: opts.url ?? 'https://hooks.example/h',
    secret: 'bulk-secret-0123456789abcdef',
    events: ['order.*'],
  });
  const now = Date.now();
  for (let from = 0; from < opts.tenants; from += 500) {
    const p = redis.pipeline();
    for (let i = from; i < Math.min(from + 500, opts.tenants); i++) {
      const t = tenantId(i);
      p.hset(keys.tenants, t, JSON.stringify({ id: t }));
      const flat: string[] = [];
      for (let e = 0; e < opts.perTenant; e++) {
        const ep: EndpointConfig = { ...template, id: `e${e}` };
        flat.push(`${t}/e${e}`, encodeEndpoint(ep, `${t}/e${e}`, undefined, now));
      }
      p.hset(keys.endpoints, ...flat);
    }
    const res = await p.exec();
    const failed = res?.find(([err]) => err);
    if (failed) throw failed[0] as Error;
  }
  // A bump with no log entry, like a hand edit: every process loads this registry in full.
  await redis.incr(keys.version);
}
