// How an endpoint's secrets are written to and read from the registry hash: expired previous
// secrets are dropped on every write, and with WSS_SECRETS_KEY every inline secret is
// encrypted. A value that cannot be decrypted (key id not configured) stays as it is; the
// worker then reports SECRET_UNAVAILABLE for that endpoint instead of signing with it.
import type { SecretsKey } from '../config.js';
import type { EndpointConfig } from '../tenants/schema.js';
import { decryptSecret, encryptSecret, isEncrypted } from './secret-box.js';

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

function mapSecrets(ep: EndpointConfig, f: (v: string) => string): EndpointConfig {
  const out: EndpointConfig = { ...ep };
  if (ep.secret !== undefined) out.secret = f(ep.secret);
  if (ep.previousSecrets)
    out.previousSecrets = ep.previousSecrets.map((p) => (p.secret === undefined ? p : { ...p, secret: f(p.secret) }));
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
  return JSON.stringify(mapSecrets(pruned, (v) => (isEncrypted(v) ? v : encryptSecret(keys, aad, v))));
}

export function decodeEndpoint(json: string, aad: string, keys: readonly SecretsKey[] | undefined): EndpointConfig {
  const ep = JSON.parse(json) as EndpointConfig;
  return mapSecrets(ep, (v) => (isEncrypted(v) ? (decryptSecret(keys, aad, v) ?? v) : v));
}

/** True when some inline secret is still encrypted after decoding (its key is not configured). */
export function hasUndecryptable(ep: EndpointConfig): boolean {
  return [ep.secret, ...(ep.previousSecrets ?? []).map((p) => p.secret)].some((v) => v !== undefined && isEncrypted(v));
}
