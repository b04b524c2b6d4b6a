// How an endpoint's secrets are written to and read from the registry hash: expired previous
// secrets are dropped on every write, and with WSS_SECRETS_KEY every inline secret, the URL
// (it may carry a token in its query or path) and every custom header value (Authorization,
// X-Api-Key, …) are encrypted. A value that cannot be decrypted (key id not configured) stays
// as it is; the worker then reports SECRET_UNAVAILABLE for that endpoint instead of using it.
import type { SecretsKey } from '../config.js';
import { moveUrlCredentials } from '../tenants/endpoint-url.js';
import type { EndpointConfig } from '../tenants/schema.js';
import { decryptSecret, encryptSecret, isEncrypted, keyIdOf } from './secret-box.js';

type PreviousSecret = NonNullable<EndpointConfig['previousSecrets']>[number];

const expired = (p: PreviousSecret, nowMs: number) => p.expiresAt !== undefined && Date.parse(p.expiresAt) <= nowMs;

/** Without the previous secrets that have expired at `nowMs`. */
export function withoutExpired(ep: EndpointConfig, nowMs: number): EndpointConfig {
  if (!ep.previousSecrets?.some((p) => expired(p, nowMs))) return ep;
  const kept = ep.previousSecrets.filter((p) => !expired(p, nowMs));
  const { previousSecrets: _drop, ...rest } = ep;
  return kept.length > 0 ? { ...rest, previousSecrets: kept } : rest;
}

/** The earliest expiry among the previous secrets, in ms. */
export function earliestExpiry(ep: EndpointConfig): number | undefined {
  let min: number | undefined;
  for (const p of ep.previousSecrets ?? []) {
    const t = p.expiresAt === undefined ? NaN : Date.parse(p.expiresAt);
    if (Number.isFinite(t) && (min === undefined || t < min)) min = t;
  }
  return min;
}

/** Every value kept encrypted at rest: inline secrets, the URL and the custom header values. */
function mapSealed(ep: EndpointConfig, f: (v: string) => string): EndpointConfig {
  const out: EndpointConfig = { ...ep, url: f(ep.url) };
  if (ep.secret !== undefined) out.secret = f(ep.secret);
  if (ep.previousSecrets)
    out.previousSecrets = ep.previousSecrets.map((p) => (p.secret === undefined ? p : { ...p, secret: f(p.secret) }));
  // Stored endpoints always have headers; a hand-written value may lack them.
  if (ep.headers) out.headers = Object.fromEntries(Object.entries(ep.headers).map(([k, v]) => [k, f(v)]));
  return out;
}

/** The JSON stored for an endpoint. `aad` is "<tenant>/<endpoint>". */
export function encodeEndpoint(
  ep: EndpointConfig,
  aad: string,
  keys: readonly SecretsKey[] | undefined,
  nowMs: number,
): string {
  const pruned = withoutExpired(ep, nowMs);
  if (!keys || keys.length === 0) return JSON.stringify(pruned);
  return JSON.stringify(mapSealed(pruned, (v) => (isEncrypted(v) ? v : encryptSecret(keys, aad, v))));
}

/**
 * The endpoint from its stored JSON, decrypted where a configured key allows. Credentials in
 * the URL (stored by an older version) become its Authorization header here, as they do at
 * registration (tenants/endpoint-url.ts).
 */
export function decodeEndpoint(json: string, aad: string, keys: readonly SecretsKey[] | undefined): EndpointConfig {
  const ep = mapSealed(JSON.parse(json) as EndpointConfig, (v) =>
    isEncrypted(v) ? (decryptSecret(keys, aad, v) ?? v) : v,
  );
  return ep.headers ? moveUrlCredentials(ep) : ep;
}

/** The fields still encrypted after decoding (their key is not configured), each with its key id. */
export function undecryptableFields(ep: EndpointConfig): Array<{ field: string; keyId: string }> {
  const out: Array<{ field: string; keyId: string }> = [];
  const check = (field: string, v: string | undefined) => {
    if (v !== undefined && isEncrypted(v)) out.push({ field, keyId: keyIdOf(v) ?? '?' });
  };
  check('url', ep.url);
  check('secret', ep.secret);
  (ep.previousSecrets ?? []).forEach((p, i) => check(`previousSecrets.${i}.secret`, p.secret));
  for (const [k, v] of Object.entries(ep.headers ?? {})) check(`headers.${k}`, v);
  return out;
}

/** True when some value is still encrypted after decoding (its key is not configured). */
export function hasUndecryptable(ep: EndpointConfig): boolean {
  return undecryptableFields(ep).length > 0;
}
