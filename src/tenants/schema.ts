// The tenants file and the admin API's endpoint payload. Validation errors name the tenant,
// the endpoint and the field, and jsonata expressions are compiled here so a bad one is
// refused at seed time rather than at delivery time.
import { z } from 'zod';
import { TenantsValidationError } from '../lib/errors.js';
import { compileProblem } from './jsonata-syntax.js';
import { MAX_ACTIVE_SECRETS, SCHEMES } from '../signing/keys.js';
import { secretsIssues, toCanonicalSecrets } from '../signing/secrets-schema.js';
import { foreignSecretEnvReason, foreignSecretEnvs } from '../signing/secret-env.js';
import { at, describePath } from './describe-path.js';
import { headerProblems, MAX_HEADER_VALUE_CHARS } from './headers.js';
import { moveUrlCredentials, privateUrlProblem, urlCredentialsProblem } from './endpoint-url.js';

export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const id = z.string().regex(ID_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');

// `secretEnv` names a worker variable chosen by whoever registers the endpoint: only WSS_SECRET_*
// (never, say, the dashboard password), and only its own tenant's (signing/secret-env.ts).
export const SECRET_ENV_PREFIX = 'WSS_SECRET_';
export const SECRET_ENV_PATTERN = /^WSS_SECRET_[A-Za-z0-9_]{1,200}$/;

/** Rules that depend on the configuration, applied when endpoints are registered. */
export interface RegistrationRules {
  allowPrivateUrls: boolean;
  /** WSS_SECRETS_KEY is set: an Ed25519 private key may then be stored (encrypted) in Redis. */
  secretsEncrypted?: boolean;
}

const secretEnvName = z
  .string()
  .regex(
    SECRET_ENV_PATTERN,
    `must be an environment variable name starting with ${SECRET_ENV_PREFIX} (e.g. ${SECRET_ENV_PREFIX}ACME_ORDERS)`,
  );

const isoTime = z
  .string()
  .max(64)
  .refine(
    (v) => /^\d{4}-\d\d-\d\dT/.test(v) && Number.isFinite(Date.parse(v)),
    'must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z',
  );

/** One secret of a rotation: inline or from the environment, with the time it stops being sent. */
const secretEntry = z
  .object({
    secret: z.string().max(512).optional(),
    secretEnv: secretEnvName.optional(),
    expiresAt: isoTime.optional(),
  })
  .strict();

const expression = z
  .string()
  .min(1)
  .superRefine((expr, ctx) => {
    const problem = compileProblem(expr);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `invalid jsonata: ${problem}` });
  });

export const DEFAULTS = Object.freeze({
  events: ['*'],
  timeoutMs: 10_000,
  // 20 attempts, gaps 5 s doubling to the 2 h cap (WSS_MAX_BACKOFF_MS): about 19 h of retries.
  retry: Object.freeze({ attempts: 20, backoffMs: 5_000 }),
  enabled: true,
});

const PREVIOUS_SECRETS_MAX = `at most ${MAX_ACTIVE_SECRETS - 1} previous secrets (${MAX_ACTIVE_SECRETS} active in all)`;

const endpointSchema = z
  .object({
    id,
    url: z
      .string()
      .max(2048)
      .refine((u) => {
        try {
          const p = new URL(u).protocol;
          return p === 'http:' || p === 'https:';
        } catch {
          return false;
        }
      }, 'must be an absolute http:// or https:// URL'),
    // Free text for people (the tenant portal shows it); never interpreted.
    description: z.string().max(500).optional(),
    // Deliveries refuse private addresses even with WSS_ALLOW_PRIVATE_URLS=true: set on what a
    // tenant registers without the operator's allowance (docs/portal.md).
    publicOnly: z.boolean().optional(),
    // false: no `traceparent`/`tracestate` on requests even with tracing on (observability.md).
    traceContext: z.boolean().optional(),
    // Its length and format depend on `signature.scheme`: checked in secretsIssues.
    secret: z.string().max(512).optional(),
    secretEnv: secretEnvName.optional(),
    // Rotation (src/signing/): `secrets` (newest first) and `previousSecretEnv` are input forms;
    // what is stored is `secret`/`secretEnv` (the newest) plus `previousSecrets`.
    secrets: z
      .array(secretEntry)
      .min(1)
      .max(MAX_ACTIVE_SECRETS, `at most ${MAX_ACTIVE_SECRETS} active secrets`)
      .optional(),
    previousSecretEnv: secretEnvName.optional(),
    previousSecretExpiresAt: isoTime.optional(),
    previousSecrets: z
      .array(secretEntry)
      .max(MAX_ACTIVE_SECRETS - 1, PREVIOUS_SECRETS_MAX)
      .optional(),
    signature: z
      .object({
        scheme: z.enum(SCHEMES, { message: `must be one of ${SCHEMES.join(', ')}` }),
        // Ed25519 only: serve the public keys without authentication at /keys/<tenant>/<endpoint>.
        publishPublicKey: z.boolean().optional(),
      })
      .strict()
      .optional(),
    events: z
      .array(z.string().min(1).max(200))
      .min(1, 'must list at least one event type')
      .default([...DEFAULTS.events]),
    filter: expression.optional(),
    transform: expression.optional(),
    // Ordering keys (docs/ordering.md): the key of events that carry none, and what a head that
    // fails for good does to its key.
    orderingKey: expression.optional(),
    ordering: z
      .object({ onFailure: z.enum(['continue', 'block']).default('continue') })
      .strict()
      .optional(),
    headers: z
      .record(z.string(), z.string().max(MAX_HEADER_VALUE_CHARS))
      .default({})
      .superRefine((headers, ctx) => {
        for (const problem of headerProblems(headers))
          ctx.addIssue({ code: 'custom', path: problem.name === '' ? [] : [problem.name], message: problem.message });
      }),
    timeoutMs: z.number().int().min(100).max(120_000).default(DEFAULTS.timeoutMs),
    retry: z
      .object({
        attempts: z.number().int().min(1).max(100).default(DEFAULTS.retry.attempts),
        backoffMs: z.number().int().min(10).max(86_400_000).default(DEFAULTS.retry.backoffMs),
      })
      .strict()
      .default({ ...DEFAULTS.retry }),
    enabled: z.boolean().default(DEFAULTS.enabled),
    // Circuit breaker (docs/circuit-breaker.md): consecutive retryable failures that open it,
    // and the first cool-down (doubling on each open in a row, up to 10 min or this if longer).
    circuit: z
      .object({
        failures: z.number().int().min(1).max(1_000).optional(),
        coolDownMs: z.number().int().min(100).max(86_400_000).optional(),
      })
      .strict()
      .optional(),
    // Set by a worker when it disables the endpoint (WSS_DISABLE_AFTER without a success, or 410
    // Gone); registering it again with `enabled: true` (admin API PUT, seed) drops it.
    disabled: z
      .object({ reason: z.string().max(2000), since: z.string().max(40) })
      .strict()
      .optional(),
    // Fleet-wide limits, enforced in Redis by every worker (src/endpoints/limits.ts,
    // docs/endpoint-limits.md). Not set: no fleet-wide limit and no Redis round trip.
    maxInFlight: z
      .number({ message: 'must be a whole number from 1 to 10000' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(10_000, 'must be at most 10000')
      .optional(),
    rateLimit: z
      .object({
        max: z
          .number({ message: 'is required: a whole number of requests from 1 to 100000' })
          .int('must be a whole number')
          .min(1, 'must be at least 1')
          .max(100_000, 'must be at most 100000'),
        perMs: z
          .number({ message: 'must be a whole number of ms' })
          .int('must be a whole number')
          .min(1, 'must be at least 1')
          .max(86_400_000, 'must be at most 86400000 (one day)')
          .default(1_000),
      })
      .strict()
      .optional(),
    // Set by the bridge after WSS_EXPR_BREAK_AFTER expression failures in a row (docs/expressions.md);
    // registering the endpoint again (admin API PUT, seed) drops it.
    broken: z
      .object({ reason: z.string().max(2000), since: z.string().max(40) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((ep, ctx) => {
    for (const issue of secretsIssues(ep)) ctx.addIssue({ code: 'custom', ...issue });
    const credentials = urlCredentialsProblem(ep.url, ep.headers);
    if (credentials !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: credentials });
  })
  .transform((ep) => moveUrlCredentials(toCanonicalSecrets(ep)));

export type EndpointConfig = z.output<typeof endpointSchema>;

const tenantSchema = z
  .object({
    id,
    name: z.string().max(200).optional(),
    endpoints: z.array(endpointSchema).default([]),
  })
  .strict()
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    t.endpoints.forEach((ep, i) => {
      if (seen.has(ep.id))
        ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'id'], message: `duplicate endpoint id "${ep.id}"` });
      seen.add(ep.id);
    });
  });

export type TenantConfig = z.output<typeof tenantSchema>;

const tenantsFileSchema = z
  .object({ tenants: z.array(tenantSchema) })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.tenants.forEach((t, i) => {
      if (seen.has(t.id))
        ctx.addIssue({ code: 'custom', path: ['tenants', i, 'id'], message: `duplicate tenant id "${t.id}"` });
      seen.add(t.id);
    });
  });

export type TenantsFile = z.output<typeof tenantsFileSchema>;

type Issue = { path: readonly PropertyKey[]; message: string };

function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  more: (parsed: z.output<S>) => Issue[] = () => [],
): z.output<S> {
  const result = schema.safeParse(input);
  const issues: Issue[] = result.success ? more(result.data) : result.error.issues;
  if (result.success && issues.length === 0) return result.data;
  const problems = issues.map((issue) => `${describePath(input, issue.path)}: ${issue.message}`);
  throw new TenantsValidationError(`${what} is invalid: ${problems.join('; ')}`, problems);
}

function urlIssues(ep: EndpointConfig, path: readonly PropertyKey[], rules: RegistrationRules | undefined): Issue[] {
  const out: Issue[] = [];
  if (rules?.secretsEncrypted === false && ep.signature?.scheme === 'standard-webhooks-ed25519') {
    const inline = [ep.secret, ...(ep.previousSecrets ?? []).map((p) => p.secret)].some((v) => v !== undefined);
    if (inline)
      out.push({
        path: [...path, 'secret'],
        message:
          'an Ed25519 private key is kept in Redis only encrypted: set WSS_SECRETS_KEY, or give the key with secretEnv',
      });
  }
  if (rules === undefined || (rules.allowPrivateUrls && ep.publicOnly !== true)) return out;
  const problem = privateUrlProblem(ep.url);
  return problem === undefined ? out : [...out, { path: [...path, 'url'], message: problem }];
}

/**
 * An endpoint may sign only with its own tenant's variables (src/signing/secret-env.ts). Read
 * from the raw input, so the field is named as written (`secrets.1.secretEnv`), not as stored.
 */
function ownershipIssues(tenant: string, raw: unknown, path: readonly PropertyKey[]): Issue[] {
  return foreignSecretEnvs(tenant, (raw ?? {}) as object).map(({ field, name }) => ({
    path: [...path, field],
    message: foreignSecretEnvReason(tenant, name),
  }));
}

/** Validates a tenants file; with rules, also what depends on the configuration (private URLs). */
export function parseTenantsFile(input: unknown, rules?: RegistrationRules): TenantsFile {
  return parseWith(tenantsFileSchema, input, 'tenants file', (f) =>
    f.tenants.flatMap((t, ti) =>
      t.endpoints.flatMap((ep, ei) => {
        const path = ['tenants', ti, 'endpoints', ei];
        const raw = at(at(at(at(input, 'tenants'), ti), 'endpoints'), ei);
        return [...urlIssues(ep, path, rules), ...ownershipIssues(t.id, raw, path)];
      }),
    ),
  );
}

/**
 * One endpoint (the admin API's PUT). With `tenant`, also the tenant-bound rules: its
 * secretEnv names must start with WSS_SECRET_<TENANT>_.
 */
export function parseEndpoint(input: unknown, rules?: RegistrationRules, tenant?: string): EndpointConfig {
  const id = at(input, 'id');
  const what =
    tenant === undefined ? 'endpoint' : `endpoint ${typeof id === 'string' ? `"${id}" ` : ''}of tenant "${tenant}"`;
  return parseWith(endpointSchema, input, what, (ep) => [
    ...urlIssues(ep, [], rules),
    ...(tenant === undefined ? [] : ownershipIssues(tenant, input, [])),
  ]);
}
