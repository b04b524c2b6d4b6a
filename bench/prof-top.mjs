// Summarises a .cpuprofile (node --cpu-prof): top functions by self time, and by package/file.
// Usage: node bench/prof-top.mjs <file.cpuprofile> [--top 30]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '30' } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  process.stderr.write('usage: node bench/prof-top.mjs <file.cpuprofile> [--top N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
// timeDeltas[i] is the time before sample i; attribute it to that sample's node.
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const where = (cf) => {
  const url = cf.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'nm:')
    .replace(/^.*\/dist\//, 'dist/');
  return url ? `${url}:${cf.lineNumber + 1}` : '(native)';
};
const area = (cf) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(cf.url);
  if (m) return m[1];
  if (cf.url.includes('/dist/')) return `dist/${cf.url.split('/dist/')[1].split('/')[0]}`;
  if (cf.url.startsWith('node:')) return cf.url;
  return cf.url ? 'other' : `(${cf.functionName || 'native'})`;
};

const fn = new Map();
const areas = new Map();
for (const [id, us] of selfUs) {
  const cf = byId.get(id).callFrame;
  const key = `${cf.functionName || '(anonymous)'}  ${where(cf)}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const a = area(cf);
  areas.set(a, (areas.get(a) ?? 0) + us);
}
// Inclusive time per function: a node's self time plus its descendants', counted once per
// function on each stack (recursion is not double counted).
const inclusive = new Map();
const parentOf = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
for (const [id, us] of selfUs) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parentOf.get(cur)) {
    const cf = byId.get(cur).callFrame;
    const key = `${cf.functionName || '(anonymous)'}  ${where(cf)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}

const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const top = Number(values.top);
process.stdout.write(`${positionals[0]}: ${(total / 1e6).toFixed(2)} s sampled\n\nself time by function:\n`);
for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)}  ${k}\n`);
process.stdout.write(
  '\ninclusive time, functions of dist/ and their direct dependencies (bullmq, ioredis, undici, pino, prom-client):\n',
);
const interesting = /dist\/|nm:(bullmq|ioredis|undici|pino|prom-client)|abort_controller|crypto/;
for (const [k, us] of [...inclusive]
  .filter(([k]) => interesting.test(k))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  process.stdout.write(`${pct(us)}  ${k}\n`);
process.stdout.write('\nself time by package / file group:\n');
for (const [k, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 20)) process.stdout.write(`${pct(us)}  ${k}\n`);
