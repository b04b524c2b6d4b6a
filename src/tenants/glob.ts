// Event-type globs: `*` matches any run of characters (dots included), everything else is
// literal. "*" alone matches every type. Compiled once per pattern.
const cache = new Map<string, RegExp>();

export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`);
    cache.set(pattern, re);
  }
  return re;
}

export function matchesAny(type: string, patterns: readonly string[]): boolean {
  for (const p of patterns) if (globToRegExp(p).test(type)) return true;
  return false;
}
