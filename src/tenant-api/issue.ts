// Handing out tenant credentials, as the admin API and the CLI both do: a token from a request
// body (`name`, `readOnly`, `expiresIn`) and the URL of a portal link.
import type { Access } from '../access/access.js';
import { parseLifetime, TokenRequestError, type TokenRecord } from '../access/tokens.js';

export const PORTAL_LINK_PATH = '/portal/link/';

export function portalLinkUrl(origin: string, code: string): string {
  return `${origin.replace(/\/+$/, '')}${PORTAL_LINK_PATH}${code}`;
}

/** Creates a token from `{name?, readOnly?, expiresIn?}`; the token text is in the answer only. */
export async function createTokenFor(
  access: Access,
  tenant: string,
  input: Record<string, unknown>,
): Promise<TokenRecord & { token: string }> {
  const { name, readOnly, expiresIn, ...rest } = input;
  const problems = Object.keys(rest).map((k) => `field "${k}": unknown field (expected name, readOnly, expiresIn)`);
  if (name !== undefined && (typeof name !== 'string' || name.length > 100))
    problems.push('field "name": must be text of at most 100 characters');
  if (readOnly !== undefined && typeof readOnly !== 'boolean') problems.push('field "readOnly": must be true or false');
  if (expiresIn !== undefined && typeof expiresIn !== 'string')
    problems.push('field "expiresIn": must be a duration such as 90m, 12h or 30d');
  if (problems.length > 0) throw new TokenRequestError(problems.join('; '));
  const lifetimeMs = typeof expiresIn === 'string' ? parseLifetime(expiresIn, 'field "expiresIn"') : undefined;
  const { token, record } = await access.tokens.create(tenant, {
    name: name as string | undefined,
    readOnly: readOnly === true,
    lifetimeMs,
  });
  return { token, ...record };
}
