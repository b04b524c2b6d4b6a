// Every package in package-lock.json (dev ones too: `npm ci` installs them) accepts the oldest
// Node the project supports (package.json "engines"). svix 2.5.0 asked for Node >= 22 and `npm ci`
// warned EBADENGINE on Node 20 (issue 18); svix 1.99.1 is the newest that does not, and the tests
// use only its `Webhook#verify`. Pure: reads the two files.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type Version = [number, number, number];

/** `20.19` → [20, 19, 0]; `10.x` → [10, 0, 0]. */
function parse(v: string): Version {
  const [a = 0, b = 0, c = 0] = v.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : 0));
  return [a, b, c];
}

function cmp(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** One comparator of a node-semver range (`>=18`, `^20.9.0`, `~1.2`, `20`, `10.x`, `*`). */
function admits(v: Version, comparator: string): boolean {
  const m = /^(>=|<=|>|<|=|\^|~)?\s*v?([\d.x*]+)$/.exec(comparator.trim());
  if (!m) throw new Error(`range part not understood: "${comparator}"`);
  const [, op = '', text = ''] = m;
  if (text === '*' || text === 'x') return true;
  const parts = text.split('.').filter((p) => /^\d+$/.test(p)).length;
  const r = parse(text);
  const c = cmp(v, r);
  if (op === '>=') return c >= 0;
  if (op === '>') return c > 0;
  if (op === '<=') return c <= 0;
  if (op === '<') return c < 0;
  if (op === '^') return c >= 0 && (r[0] > 0 ? v[0] === r[0] : v[0] === 0 && v[1] === r[1]);
  if (op === '~') return c >= 0 && v[0] === r[0] && (parts < 2 || v[1] === r[1]);
  // A bare version: `20` is any 20.x.y, `20.19` any 20.19.y.
  return v[0] === r[0] && (parts < 2 || v[1] === r[1]) && (parts < 3 || v[2] === r[2]);
}

/** node-semver's `a || b`, each side a space-separated AND of comparators. */
function satisfies(v: Version, range: string): boolean {
  return range.split('||').some((alt) =>
    alt
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter((p) => p !== '')
      .every((p) => admits(v, p)),
  );
}

describe('engines', () => {
  it('the range reader gives known answers', () => {
    expect(satisfies([20, 19, 0], '>=22')).toBe(false);
    expect(satisfies([20, 19, 0], '^20.19.0 || >=22.12.0')).toBe(true);
    expect(satisfies([20, 19, 0], '^18.18.0 || ^20.9.0 || >=21.1.0')).toBe(true);
    expect(satisfies([20, 19, 0], '^20.0.0 || ^22.0.0 || >=24.0.0')).toBe(true);
    expect(satisfies([20, 19, 0], '>=20.20')).toBe(false);
    expect(satisfies([20, 19, 0], '18 || 20 || >=22')).toBe(true);
    expect(satisfies([20, 19, 0], '>= 10.x')).toBe(true);
    expect(satisfies([20, 19, 0], '^10 || ^12 || ^13.7 || ^14 || >=15.0.1')).toBe(true);
    expect(satisfies([20, 19, 0], '^18')).toBe(false);
    expect(satisfies([20, 19, 0], '*')).toBe(true);
  });

  it('every locked package accepts the oldest Node of package.json "engines"', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      engines: { node: string };
    };
    const oldest = /^>=\s*([\d.]+)$/.exec(pkg.engines.node)?.[1];
    expect(oldest, 'package.json engines.node is ">=X.Y"').toBeDefined();
    const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
    };
    const refused = Object.entries(lock.packages)
      .filter(([, p]) => p.engines && !Array.isArray(p.engines) && p.engines.node !== undefined)
      .filter(([, p]) => !satisfies(parse(oldest!), (p.engines as { node: string }).node))
      .map(
        ([path, p]) =>
          `${path.replace(/^.*node_modules\//, '')}@${p.version}: node ${(p.engines as { node: string }).node}`,
      );
    expect(refused).toEqual([]);
  });
});
