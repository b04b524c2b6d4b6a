// Validation problems in words: a zod issue path turned into `tenant "acme" endpoint "orders"
// field "retry.attempts"`, with the ids read from the raw input (so they can be named even when
// they are the invalid part). Pure.

export function at(value: unknown, key: PropertyKey): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
}

function label(kind: string, node: unknown, index: PropertyKey): string {
  const idValue = at(node, 'id');
  return typeof idValue === 'string' && idValue !== '' ? `${kind} "${idValue}"` : `${kind} #${String(index)}`;
}

/**
 * Turns a zod issue path into words: `tenant "acme" endpoint "orders" field "retry.attempts"`.
 * `root` is the raw input, so ids can be named even when they are the invalid part.
 */
export function describePath(root: unknown, path: readonly PropertyKey[]): string {
  const words: string[] = [];
  let node = root;
  let i = 0;
  if (path[0] === 'tenants' && path.length >= 2) {
    node = at(at(root, 'tenants'), path[1]!);
    words.push(label('tenant', node, path[1]!));
    i = 2;
  }
  if (path[i] === 'endpoints' && path.length >= i + 2) {
    const ep = at(at(node, 'endpoints'), path[i + 1]!);
    words.push(label('endpoint', ep, path[i + 1]!));
    i += 2;
  }
  const field = path.slice(i).map(String).join('.');
  if (field) words.push(`field "${field}"`);
  return words.length ? words.join(' ') : 'file';
}
