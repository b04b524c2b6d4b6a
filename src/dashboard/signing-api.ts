// Signing routes of the admin API (mounted under /api, behind basic auth) and the optional
// public key URL (no auth). Secrets are write-only: a generated HMAC secret is returned once,
// in the rotate-secret response; an Ed25519 private key is never returned, only its public key.
import { Router, type Request, type Response } from 'express';
import { readSecretEnv } from '../config.js';
import { DeliveryError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { RoleContext } from '../roles.js';
import { generateSecret, publicKeyOf } from '../signing/keys.js';
import { parseOverlap, rotateSecret, RotationError, schemeOf, type NewSecret } from '../signing/rotate.js';
import { prepareSigner } from '../signing/signer.js';
import { ID_PATTERN, SECRET_ENV_PATTERN, type EndpointConfig } from '../tenants/schema.js';
import type { KeyObject } from 'node:crypto';

const ED25519 = 'standard-webhooks-ed25519';

function fail(res: Response, status: number, error: string): void {
  res.status(status).json({ error, problems: [error] });
}

/** The public keys of an Ed25519 endpoint's active keys, newest first. */
export function publicKeys(
  tenant: string,
  ep: EndpointConfig,
  nowMs: number,
): Array<{ publicKey: string; pem: string; expiresAt: string | null }> {
  const prepared = prepareSigner(ep, readSecretEnv, tenant);
  return prepared.keys
    .filter((k) => k.expiresAtMs > nowMs)
    .map((k) => ({
      ...publicKeyOf(k.key as KeyObject),
      expiresAt: Number.isFinite(k.expiresAtMs) ? new Date(k.expiresAtMs).toISOString() : null,
    }));
}

/**
 * A new Ed25519 endpoint registered without a key gets a generated one (stored encrypted, so
 * only with WSS_SECRETS_KEY); its public key is then at .../public-keys. Anything else: nothing.
 */
export function generatedKey(input: Record<string, unknown>, encrypted: boolean): { secret?: string } {
  const sig = input.signature as { scheme?: unknown } | null | undefined;
  return encrypted && typeof sig === 'object' && sig !== null && sig.scheme === ED25519
    ? { secret: generateSecret(ED25519) }
    : {};
}

function ids(req: Request, res: Response): { tenant: string; endpoint: string } | undefined {
  const { tenant, endpoint } = req.params as { tenant?: string; endpoint?: string };
  const bad = Object.entries({ tenant, endpoint }).filter(([, v]) => v === undefined || !ID_PATTERN.test(v));
  if (bad.length === 0) return { tenant: tenant!, endpoint: endpoint! };
  fail(res, 400, bad.map(([k]) => `${k} id in the URL: must match ^[a-z0-9][a-z0-9_-]{0,62}$`).join('; '));
  return undefined;
}

export function signingRoutes(router: Router, { ctx, log }: { ctx: RoleContext<'dashboard'>; log: Logger }): void {
  const { registry, config } = ctx;

  router.post('/tenants/:tenant/endpoints/:endpoint/rotate-secret', async (req, res) => {
    const at = ids(req, res);
    if (!at) return;
    const input: unknown = req.body ?? {};
    if (input === null || typeof input !== 'object' || Array.isArray(input))
      return fail(res, 400, 'the request body must be a JSON object');
    const { secret, secretEnv, overlap, ...unknown } = input as Record<string, unknown>;
    const extra = Object.keys(unknown);
    if (extra.length > 0)
      return fail(
        res,
        400,
        extra.map((k) => `field "${k}": unknown field (expected secret, secretEnv, overlap)`).join('; '),
      );
    if (secret !== undefined && secretEnv !== undefined)
      return fail(res, 400, 'field "secret": give "secret" or "secretEnv", not both');
    if (secret !== undefined && typeof secret !== 'string') return fail(res, 400, 'field "secret": must be a string');
    if (secretEnv !== undefined && (typeof secretEnv !== 'string' || !SECRET_ENV_PATTERN.test(secretEnv))) {
      return fail(res, 400, 'field "secretEnv": must be an environment variable name starting with WSS_SECRET_');
    }
    const existing = await registry.getEndpointConfig(at.tenant, at.endpoint);
    if (!existing) return fail(res, 404, `endpoint "${at.endpoint}" of tenant "${at.tenant}" not found`);
    const scheme = schemeOf(existing);
    if (scheme === ED25519 && secretEnv === undefined && !config.secretsKeys) {
      return fail(
        res,
        400,
        'field "secret": an Ed25519 private key is kept in Redis only encrypted: set WSS_SECRETS_KEY, or give "secretEnv"',
      );
    }
    const generated = secret === undefined && secretEnv === undefined ? generateSecret(scheme) : undefined;
    const next: NewSecret =
      secretEnv !== undefined
        ? { secretEnv: secretEnv as string }
        : { secret: (secret as string | undefined) ?? generated! };
    let updated: EndpointConfig | undefined;
    try {
      const overlapMs = parseOverlap(overlap);
      const nowMs = ctx.now();
      updated = await registry.updateEndpoint(at.tenant, at.endpoint, (cur) =>
        rotateSecret(cur, next, overlapMs, nowMs, at.tenant),
      );
    } catch (err) {
      if (err instanceof RotationError) return fail(res, 400, err.message);
      throw err;
    }
    if (!updated) return fail(res, 404, `endpoint "${at.endpoint}" of tenant "${at.tenant}" not found`);
    log.info(
      {
        tenant: at.tenant,
        endpoint: at.endpoint,
        scheme,
        activeSecrets: 1 + (updated.previousSecrets?.length ?? 0),
        generated: generated !== undefined,
      },
      'admin: endpoint secret rotated',
    );
    const previous = (updated.previousSecrets ?? []).map((p) => ({
      ...(p.secretEnv !== undefined ? { secretEnv: p.secretEnv } : {}),
      expiresAt: p.expiresAt,
    }));
    const body: Record<string, unknown> = {
      tenant: at.tenant,
      endpoint: at.endpoint,
      scheme,
      activeSecrets: 1 + previous.length,
      previous,
    };
    if (generated !== undefined && scheme !== ED25519) body.secret = generated; // shown this once, never again
    if (scheme === ED25519) {
      try {
        body.publicKeys = publicKeys(at.tenant, updated, ctx.now());
      } catch (err) {
        if (!(err instanceof DeliveryError)) throw err;
        body.publicKeysError = err.message;
      }
    }
    res.json(body);
  });

  router.get('/tenants/:tenant/endpoints/:endpoint/public-keys', async (req, res) => {
    const at = ids(req, res);
    if (!at) return;
    const ep = await registry.getEndpointConfig(at.tenant, at.endpoint);
    if (!ep) return fail(res, 404, `endpoint "${at.endpoint}" of tenant "${at.tenant}" not found`);
    if (schemeOf(ep) !== ED25519)
      return fail(
        res,
        409,
        `endpoint "${at.endpoint}" of tenant "${at.tenant}" signs with a shared secret (scheme ${schemeOf(ep)}): it has no public key`,
      );
    try {
      res.json({ scheme: ED25519, keys: publicKeys(at.tenant, ep, ctx.now()) });
    } catch (err) {
      if (err instanceof DeliveryError) return fail(res, 503, err.message);
      throw err;
    }
  });
}

/**
 * GET /keys/<tenant>/<endpoint>: the public keys of an Ed25519 endpoint that opted in with
 * `signature.publishPublicKey`, and nothing else. Every other case is the same bare 404, so
 * the URL does not tell which tenants or endpoints exist.
 */
export function publicKeysRouter(ctx: RoleContext<'dashboard'>): Router {
  const router = Router();
  router.get('/keys/:tenant/:endpoint', (req, res) => {
    const { tenant, endpoint } = req.params;
    const ep =
      ID_PATTERN.test(tenant) && ID_PATTERN.test(endpoint)
        ? ctx.registry.endpoint(tenant, endpoint)?.config
        : undefined;
    if (!ep || schemeOf(ep) !== ED25519 || ep.signature?.publishPublicKey !== true)
      return void res.status(404).json({ error: 'not found' });
    let keys;
    try {
      keys = publicKeys(tenant, ep, ctx.now());
    } catch {
      return void res.status(404).json({ error: 'not found' });
    }
    res
      .set('Cache-Control', 'public, max-age=60')
      .json({ keys: keys.map((k) => ({ publicKey: k.publicKey, pem: k.pem, expiresAt: k.expiresAt })) });
  });
  return router;
}
