// The signature headers of one attempt. Keys are decoded once per endpoint object of a registry
// snapshot (a WeakMap on the config), so an attempt costs one HMAC or Ed25519 signature per
// active secret and no Redis round trip. Which secrets are active is decided against the
// attempt's own `nowMs`: a retry after a rotation's overlap carries only the newest.
import { createHmac, sign as edSign, type KeyObject } from 'node:crypto';
import { DeliveryError } from '../lib/errors.js';
import type { EndpointConfig } from '../tenants/schema.js';
import { ed25519Key, whsecKey, type Scheme } from './keys.js';
import { isEncrypted, keyIdOf } from './secret-box.js';
import { sign, unixSeconds } from './sign.js';
import { foreignSecretEnvProblem } from './secret-env.js';

interface PreparedKey {
  key: Buffer | KeyObject;
  /** Infinity for the newest secret. */
  expiresAtMs: number;
}

interface Prepared {
  scheme: Scheme;
  keys: PreparedKey[];
}

const cache = new WeakMap<EndpointConfig, Prepared>();

function unavailable(ep: EndpointConfig, why: string): DeliveryError {
  // Retryable: the operator can set the variable (or key) and restart within the retry window.
  return new DeliveryError('SECRET_UNAVAILABLE', `endpoint ${ep.id}: ${why}`, { outcome: 'retry' });
}

function prepareKey(
  ep: EndpointConfig,
  scheme: Scheme,
  s: { secret?: string | undefined; secretEnv?: string | undefined },
  readSecretEnv: (name: string) => string | undefined,
): Buffer | KeyObject {
  const value = s.secret ?? (s.secretEnv === undefined ? undefined : readSecretEnv(s.secretEnv));
  if (value === undefined)
    throw unavailable(
      ep,
      `secret variable ${s.secretEnv ?? '(none)'} is not set in this worker (only WSS_SECRET_* variables are read)`,
    );
  if (isEncrypted(value))
    throw unavailable(
      ep,
      `secret is encrypted with key id "${keyIdOf(value) ?? '?'}", which WSS_SECRETS_KEY does not hold`,
    );
  const where = s.secretEnv !== undefined ? `secret variable ${s.secretEnv}` : 'secret';
  if (scheme === 'wss') return Buffer.from(value, 'utf8');
  const key = scheme === 'standard-webhooks' ? whsecKey(value) : ed25519Key(value);
  if (typeof key === 'string') throw unavailable(ep, `${where} ${key}`);
  return key;
}

/**
 * Decoded keys of an endpoint of `tenant`, newest first; throws SECRET_UNAVAILABLE (retryable)
 * when one cannot be read, and SECRET_ENV_FORBIDDEN (not retried) when the endpoint names
 * another tenant's variable (stored before that was refused at registration): signing with it
 * would hand this tenant's receiver another tenant's signatures.
 */
export function prepareSigner(
  ep: EndpointConfig,
  readSecretEnv: (name: string) => string | undefined,
  tenant: string,
): Prepared {
  // Before the cache: a cached entry must not outlive the check.
  const foreign = foreignSecretEnvProblem(tenant, ep.id, ep);
  if (foreign !== undefined)
    throw new DeliveryError(
      'SECRET_ENV_FORBIDDEN',
      `${foreign}; nothing is signed with it: register the endpoint again with a variable of its own`,
      { outcome: 'failed' },
    );
  const hit = cache.get(ep);
  if (hit) return hit;
  const scheme = ep.signature?.scheme ?? 'wss';
  const keys: PreparedKey[] = [{ key: prepareKey(ep, scheme, ep, readSecretEnv), expiresAtMs: Infinity }];
  for (const p of ep.previousSecrets ?? [])
    keys.push({
      key: prepareKey(ep, scheme, p, readSecretEnv),
      expiresAtMs: p.expiresAt === undefined ? Infinity : Date.parse(p.expiresAt),
    });
  const prepared = { scheme, keys };
  cache.set(ep, prepared);
  return prepared;
}

/**
 * The signature headers for one attempt at `nowMs` (ms):
 * - wss: X-WSS-Timestamp, X-WSS-Signature = space-separated hex HMAC-SHA256(secret, timestamp + body);
 * - standard-webhooks: webhook-id, webhook-timestamp, webhook-signature = space-separated
 *   `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`;
 * - standard-webhooks-ed25519: the same with `v1a,<base64 Ed25519 signature>`.
 */
export function signatureHeaders(
  prepared: Prepared,
  eventId: string,
  body: string,
  nowMs: number,
): Record<string, string> {
  const timestamp = String(unixSeconds(nowMs));
  const active = prepared.keys.filter((k) => k.expiresAtMs > nowMs);
  if (prepared.scheme === 'wss') {
    const sigs = active.map((k) => sign(k.key as Buffer, timestamp, body));
    return { 'X-WSS-Timestamp': timestamp, 'X-WSS-Signature': sigs.join(' ') };
  }
  const content = `${eventId}.${timestamp}.${body}`;
  const sigs =
    prepared.scheme === 'standard-webhooks'
      ? active.map(
          (k) =>
            `v1,${createHmac('sha256', k.key as Buffer)
              .update(content)
              .digest('base64')}`,
        )
      : active.map((k) => `v1a,${edSign(null, Buffer.from(content, 'utf8'), k.key as KeyObject).toString('base64')}`);
  return { 'webhook-id': eventId, 'webhook-timestamp': timestamp, 'webhook-signature': sigs.join(' ') };
}
