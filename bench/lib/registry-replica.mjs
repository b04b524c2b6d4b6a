// One registry replica for the registry-scale scenario: the service's own Registry class
// (dist/tenants/registry.js) in its own process and on its own connection, as a worker or a
// bridge holds it. It loads in full at start, then catches up only when the parent says so,
// measuring the CPU of each catch-up with process.cpuUsage (nothing else runs in this process).
// argv: <redis url> <prefix>. Run with --expose-gc so the RSS it reports is after a collection.
import { Redis } from 'ioredis';

const [url, prefix] = process.argv.slice(2);
const { Registry } = await import('../../dist/tenants/registry.js');
const mb = (bytes) => bytes / 1_048_576;
const settle = () => {
  globalThis.gc?.();
  return process.memoryUsage();
};

const redis = new Redis(url, { connectionName: 'bench-registry-replica' });
await redis.ping();
const before = settle();
const registry = new Registry(redis, prefix);
const t0 = performance.now();
const c0 = process.cpuUsage();
await registry.refresh();
const c = process.cpuUsage(c0);
const loadMs = performance.now() - t0;
const after = settle();
process.send({
  ready: true,
  loadMs,
  loadCpuMs: (c.user + c.system) / 1_000,
  rssMb: mb(after.rss),
  addedRssMb: mb(after.rss - before.rss),
  addedHeapMb: mb(after.heapUsed - before.heapUsed),
  stats: registry.loadStats(),
});

process.on('message', async (msg) => {
  if (msg === 'apply') {
    const t = performance.now();
    const u0 = process.cpuUsage();
    await registry.refresh();
    const u = process.cpuUsage(u0);
    process.send({ cpuMs: (u.user + u.system) / 1_000, wallMs: performance.now() - t, stats: registry.loadStats() });
  } else if (msg === 'stop') {
    redis.disconnect();
    process.exit(0);
  }
});
