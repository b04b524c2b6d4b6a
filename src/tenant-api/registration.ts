// A tenant's endpoint through the registration rules everyone's endpoints pass (schema.ts,
// SSRF check included, and the expression trial), with the private-URL rule taken from the
// operator's allowance for that tenant rather than from WSS_ALLOW_PRIVATE_URLS alone.
import { TenantsValidationError } from '../lib/errors.js';
import type { ExpressionPool } from '../expressions/pool.js';
import { trialEndpoint } from '../expressions/trial.js';
import type { TenantPolicy } from '../access/policy.js';
import { parseEndpoint, type EndpointConfig } from '../tenants/schema.js';
import { TenantRequestError } from './errors.js';

export interface RegistrationDeps {
  allowPrivateUrls: boolean;
  secretsEncrypted: boolean;
  expressions: ExpressionPool;
}

// The schema's advice names the operator's variable; a tenant is told what applies to it.
const OPERATOR_HINT = /; set WSS_ALLOW_PRIVATE_URLS=true to allow it/g;

export async function registerCheck(
  deps: RegistrationDeps,
  tenant: string,
  policy: TenantPolicy,
  candidate: Record<string, unknown>,
): Promise<EndpointConfig> {
  const hint = policy.allowPrivateUrls
    ? ': this service delivers to public addresses only'
    : ": private addresses need the operator's allowance for this tenant";
  try {
    const parsed = parseEndpoint(candidate, {
      allowPrivateUrls: deps.allowPrivateUrls && policy.allowPrivateUrls,
      secretsEncrypted: deps.secretsEncrypted,
    });
    await trialEndpoint(deps.expressions, tenant, parsed);
    return parsed;
  } catch (err) {
    if (!(err instanceof TenantsValidationError)) throw err;
    throw new TenantRequestError(
      400,
      err.problems.map((p) => p.replace(OPERATOR_HINT, hint)),
    );
  }
}
