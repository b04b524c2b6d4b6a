// A tenant's endpoints, as the tenant API and the portal both change them: list and read with
// health, create (the secret generated and returned once), change a subset of fields, delete,
// enable again, rotate the secret with overlap, public keys, and a test event. Every write is
// logged with the tenant and the credential's public id.
import type { ExpressionPool } from '../expressions/pool.js';
import type { Logger } from '../lib/log.js';
import type { DeliveryQueues } from '../queue/delivery-queues.js';
import type { RoleContext } from '../roles.js';
import { resumeEndpoint } from '../endpoints/disable.js';
import { enqueueTestEvent } from '../dashboard/admin-api.js';
import { endpointHealth } from '../dashboard/endpoint-health.js';
import { publicKeys } from '../dashboard/signing-api.js';
import { DeliveryError } from '../lib/errors.js';
import { generateSecret, SCHEMES, type Scheme } from '../signing/keys.js';
import { parseOverlap, rotateSecret, RotationError, schemeOf } from '../signing/rotate.js';
import type { EndpointConfig } from '../tenants/schema.js';
import type { PolicyStore } from '../access/policy.js';
import { who, type TenantPrincipal } from '../access/principal.js';
import { mergeChange, requestedScheme, tenantInputProblems } from './endpoint-input.js';
import { badRequest, notFound, TenantRequestError } from './errors.js';
import { registerCheck } from './registration.js';
import { tenantEndpointView, type TenantEndpointView } from './view.js';

const ED25519 = 'standard-webhooks-ed25519';

export interface TenantServiceDeps {
  ctx: RoleContext<'dashboard'>;
  queues: DeliveryQueues;
  expressions: ExpressionPool;
  policies: PolicyStore;
  log: Logger;
}

/** The answer to a write that made a secret: shown this once (an Ed25519 key: its public half). */
export interface SecretShown {
  secret?: string;
  publicKeys?: Array<{ publicKey: string; pem: string; expiresAt: string | null }>;
}

type Secrets = Pick<EndpointConfig, 'secret' | 'secretEnv' | 'previousSecrets'>;

function secretsOf(ep: EndpointConfig): Secrets {
  return { secret: ep.secret, secretEnv: ep.secretEnv, previousSecrets: ep.previousSecrets };
}

export class TenantEndpoints {
  constructor(private readonly d: TenantServiceDeps) {}

  private endpointHealth(tenant: string, ep: EndpointConfig) {
    const { config } = this.d.ctx;
    return endpointHealth(this.d.ctx.redis, config.prefix, tenant, ep, config.layout);
  }

  private async existing(tenant: string, id: string): Promise<EndpointConfig> {
    const ep = await this.d.ctx.registry.getEndpointConfig(tenant, id);
    if (!ep) throw notFound(`endpoint "${id}"`);
    return ep;
  }

  async list(tenant: string) {
    const snap = await this.d.ctx.registry.refresh();
    const eps = [...(snap.tenants.get(tenant)?.endpoints.values() ?? [])]
      .map((e) => e.config)
      .sort((a, b) => a.id.localeCompare(b.id));
    return Promise.all(
      eps.map(async (ep) => ({ ...tenantEndpointView(ep), health: await this.endpointHealth(tenant, ep) })),
    );
  }

  async get(tenant: string, id: string) {
    const ep = await this.existing(tenant, id);
    return { ...tenantEndpointView(ep), health: await this.endpointHealth(tenant, ep) };
  }

  /** A fresh secret for `scheme` and what the answer may show of it. */
  private newSecret(scheme: unknown): { secret?: string; scheme: Scheme } | undefined {
    if (typeof scheme !== 'string' || !(SCHEMES as readonly string[]).includes(scheme)) return undefined;
    if (scheme === ED25519 && this.d.ctx.config.secretsKeys === undefined)
      throw badRequest(
        'field "signature.scheme": standard-webhooks-ed25519 keeps a private key, which this service stores only encrypted; the operator has not set WSS_SECRETS_KEY',
      );
    return { secret: generateSecret(scheme as Scheme), scheme: scheme as Scheme };
  }

  private shown(tenant: string, ep: EndpointConfig, secret: string | undefined): SecretShown {
    if (secret === undefined) return {};
    if (schemeOf(ep) !== ED25519) return { secret };
    try {
      return { publicKeys: publicKeys(tenant, ep, this.d.ctx.now()) };
    } catch (err) {
      if (err instanceof DeliveryError) return {};
      throw err;
    }
  }

  private registration() {
    const { config } = this.d.ctx;
    return {
      allowPrivateUrls: config.allowPrivateUrls,
      secretsEncrypted: config.secretsKeys !== undefined,
      expressions: this.d.expressions,
    };
  }

  async create(
    p: TenantPrincipal,
    input: Record<string, unknown>,
  ): Promise<{ endpoint: TenantEndpointView } & SecretShown> {
    const policy = await this.d.policies.get(p.tenant);
    const problems = tenantInputProblems(input, { creating: true, allowExpressions: policy.allowExpressions });
    if (problems.length > 0) throw new TenantRequestError(400, problems);
    const fresh = this.newSecret(requestedScheme(input) ?? 'wss');
    const parsed = await registerCheck(this.registration(), p.tenant, policy, {
      ...input,
      ...(fresh ? { secret: fresh.secret } : {}),
      publicOnly: !policy.allowPrivateUrls,
    });
    if (await this.d.ctx.registry.getEndpointConfig(p.tenant, parsed.id))
      throw new TenantRequestError(409, [`endpoint "${parsed.id}" already exists; change it instead`]);
    await this.d.ctx.registry.putEndpoint(p.tenant, parsed);
    this.d.log.info({ ...who(p), endpoint: parsed.id, scheme: schemeOf(parsed) }, 'tenant: endpoint created');
    return { endpoint: tenantEndpointView(parsed), ...this.shown(p.tenant, parsed, fresh?.secret) };
  }

  async update(
    p: TenantPrincipal,
    id: string,
    input: Record<string, unknown>,
  ): Promise<{ endpoint: TenantEndpointView; resumed?: number } & SecretShown> {
    if (input.id !== undefined && input.id !== id)
      throw badRequest(`field "id": must be "${id}" as in the URL, or left out`);
    const policy = await this.d.policies.get(p.tenant);
    const problems = tenantInputProblems(input, { creating: false, allowExpressions: policy.allowExpressions });
    if (problems.length > 0) throw new TenantRequestError(400, problems);
    const existing = await this.existing(p.tenant, id);
    const scheme = requestedScheme(input);
    const fresh = scheme !== undefined && scheme !== schemeOf(existing) ? this.newSecret(scheme) : undefined;
    const candidate = mergeChange(existing, input);
    // The URL is the tenant's choice from now on: the tenant's rule for private addresses applies.
    if (input.url !== undefined && input.url !== existing.url) candidate.publicOnly = !policy.allowPrivateUrls;
    if (fresh) {
      delete candidate.secretEnv;
      delete candidate.previousSecrets;
      candidate.secret = fresh.secret;
    }
    const parsed = await registerCheck(this.registration(), p.tenant, policy, candidate);
    // The secrets as they are now (a rotation may have landed meanwhile), unless the scheme changed.
    const updated = await this.d.ctx.registry.updateEndpoint(p.tenant, id, (cur) =>
      fresh ? parsed : { ...parsed, ...secretsOf(cur) },
    );
    if (!updated) throw notFound(`endpoint "${id}"`);
    const resumed =
      !existing.enabled && updated.enabled
        ? await resumeEndpoint(this.d.ctx.redis, this.d.queues, p.tenant, id)
        : undefined;
    this.d.log.info(
      {
        ...who(p),
        endpoint: id,
        enabled: updated.enabled,
        fields: Object.keys(input),
        ...(resumed !== undefined ? { resumed } : {}),
      },
      'tenant: endpoint changed',
    );
    return {
      endpoint: tenantEndpointView(updated),
      ...(resumed !== undefined ? { resumed } : {}),
      ...this.shown(p.tenant, updated, fresh?.secret),
    };
  }

  async remove(p: TenantPrincipal, id: string): Promise<void> {
    if (!(await this.d.ctx.registry.deleteEndpoint(p.tenant, id))) throw notFound(`endpoint "${id}"`);
    this.d.log.info({ ...who(p), endpoint: id }, 'tenant: endpoint deleted');
  }

  /** A generated secret replaces the current one, which is still sent during `overlap` (default 24h). */
  async rotate(p: TenantPrincipal, id: string, input: Record<string, unknown>) {
    const unknown = Object.keys(input).filter((k) => k !== 'overlap');
    if (unknown.length > 0)
      throw badRequest(
        ...unknown.map((k) => `field "${k}": unknown field (a tenant may send overlap; the secret is generated)`),
      );
    const existing = await this.existing(p.tenant, id);
    const scheme = schemeOf(existing);
    const fresh = this.newSecret(scheme)!;
    let updated: EndpointConfig | undefined;
    try {
      const overlapMs = parseOverlap(input.overlap);
      const nowMs = this.d.ctx.now();
      updated = await this.d.ctx.registry.updateEndpoint(p.tenant, id, (cur) =>
        rotateSecret(cur, { secret: fresh.secret! }, overlapMs, nowMs, p.tenant),
      );
    } catch (err) {
      if (err instanceof RotationError) throw badRequest(err.message);
      throw err;
    }
    if (!updated) throw notFound(`endpoint "${id}"`);
    const view = tenantEndpointView(updated);
    this.d.log.info({ ...who(p), endpoint: id, scheme, activeSecrets: view.secrets.active }, 'tenant: secret rotated');
    return { endpoint: view, scheme, ...this.shown(p.tenant, updated, fresh.secret) };
  }

  async publicKeys(tenant: string, id: string) {
    const ep = await this.existing(tenant, id);
    if (schemeOf(ep) !== ED25519)
      throw new TenantRequestError(409, [
        `endpoint "${id}" signs with a shared secret (scheme ${schemeOf(ep)}): it has no public key`,
      ]);
    try {
      return { scheme: ED25519, keys: publicKeys(tenant, ep, this.d.ctx.now()) };
    } catch (err) {
      if (err instanceof DeliveryError) throw new TenantRequestError(503, [err.message]);
      throw err;
    }
  }

  async test(p: TenantPrincipal, id: string): Promise<{ eventId: string }> {
    const ep = await this.existing(p.tenant, id);
    if (!ep.enabled) throw new TenantRequestError(409, [`endpoint "${id}" is disabled; enable it first`]);
    const { eventId } = await enqueueTestEvent(this.d.ctx, this.d.queues, p.tenant, ep);
    this.d.log.info({ ...who(p), endpoint: id, eventId }, 'tenant: test event enqueued');
    return { eventId };
  }
}
