// The endpoint's secret fields: which combinations are allowed, what each secret must look like
// under the endpoint's scheme, and the one form that is stored (`secret`/`secretEnv` = newest,
// `previousSecrets` = older ones, each with its expiry).
import { MAX_ACTIVE_SECRETS, secretProblem, type Scheme } from './keys.js';

interface SecretEntry {
  secret?: string | undefined;
  secretEnv?: string | undefined;
  expiresAt?: string | undefined;
}

interface SecretFieldsInput {
  secret?: string | undefined;
  secretEnv?: string | undefined;
  secrets?: SecretEntry[] | undefined;
  previousSecretEnv?: string | undefined;
  previousSecretExpiresAt?: string | undefined;
  previousSecrets?: SecretEntry[] | undefined;
  signature?: { scheme: Scheme } | undefined;
}

type Issue = { path: PropertyKey[]; message: string };

function entryIssues(scheme: Scheme, e: SecretEntry, path: PropertyKey[], needsExpiry: boolean): Issue[] {
  const out: Issue[] = [];
  if ((e.secret === undefined) === (e.secretEnv === undefined))
    out.push({ path: [...path, 'secret'], message: 'give exactly one of "secret" or "secretEnv"' });
  if (e.secret !== undefined) {
    const problem = secretProblem(scheme, e.secret);
    if (problem) out.push({ path: [...path, 'secret'], message: problem });
  }
  if (needsExpiry && e.expiresAt === undefined)
    out.push({ path: [...path, 'expiresAt'], message: 'an older secret needs an expiry (ISO 8601 date-time)' });
  if (!needsExpiry && e.expiresAt !== undefined)
    out.push({
      path: [...path, 'expiresAt'],
      message: 'the newest secret does not expire; rotate to a new one instead',
    });
  return out;
}

export function secretsIssues(ep: SecretFieldsInput): Issue[] {
  const scheme = ep.signature?.scheme ?? 'wss';
  const forms = [ep.secret !== undefined || ep.secretEnv !== undefined, ep.secrets !== undefined].filter(
    Boolean,
  ).length;
  if (forms !== 1 || (ep.secret !== undefined && ep.secretEnv !== undefined)) {
    return [{ path: ['secret'], message: 'give exactly one of "secret", "secretEnv" or "secrets"' }];
  }
  const out: Issue[] = [];
  if (ep.secrets !== undefined) {
    if (ep.previousSecretEnv !== undefined || ep.previousSecrets !== undefined)
      out.push({
        path: ['secrets'],
        message: '"secrets" lists every secret: leave out previousSecretEnv and previousSecrets',
      });
    ep.secrets.forEach((e, i) => out.push(...entryIssues(scheme, e, ['secrets', i], i > 0)));
    return out;
  }
  out.push(...entryIssues(scheme, { secret: ep.secret, secretEnv: ep.secretEnv }, [], false));
  if ((ep.previousSecretEnv === undefined) !== (ep.previousSecretExpiresAt === undefined)) {
    out.push({
      path: ['previousSecretExpiresAt'],
      message: 'previousSecretEnv and previousSecretExpiresAt go together',
    });
  }
  if (ep.previousSecretEnv !== undefined && ep.secretEnv === undefined)
    out.push({ path: ['previousSecretEnv'], message: 'goes with "secretEnv"; use "secrets" for inline secrets' });
  if (ep.previousSecretEnv !== undefined && ep.previousSecrets !== undefined)
    out.push({ path: ['previousSecretEnv'], message: 'give previousSecretEnv or previousSecrets, not both' });
  (ep.previousSecrets ?? []).forEach((e, i) => out.push(...entryIssues(scheme, e, ['previousSecrets', i], true)));
  const total = 1 + (ep.previousSecrets?.length ?? 0) + (ep.previousSecretEnv !== undefined ? 1 : 0);
  if (total > MAX_ACTIVE_SECRETS)
    out.push({ path: ['previousSecrets'], message: `at most ${MAX_ACTIVE_SECRETS} active secrets` });
  return out;
}

function entry(e: SecretEntry): SecretEntry {
  return {
    ...(e.secret !== undefined ? { secret: e.secret } : { secretEnv: e.secretEnv }),
    ...(e.expiresAt !== undefined ? { expiresAt: new Date(Date.parse(e.expiresAt)).toISOString() } : {}),
  };
}

/** The stored form: input-only fields folded into `secret`/`secretEnv` and `previousSecrets`. */
export function toCanonicalSecrets<T extends SecretFieldsInput>(
  ep: T,
): Omit<T, 'secrets' | 'previousSecretEnv' | 'previousSecretExpiresAt'> {
  const { secrets, previousSecretEnv, previousSecretExpiresAt, ...rest } = ep;
  let previous: SecretEntry[] = (rest.previousSecrets ?? []).map(entry);
  let newest: SecretEntry = { secret: rest.secret, secretEnv: rest.secretEnv };
  if (secrets !== undefined && secrets.length > 0) {
    newest = secrets[0]!;
    previous = secrets.slice(1).map(entry);
  } else if (previousSecretEnv !== undefined && previousSecretExpiresAt !== undefined) {
    previous = [entry({ secretEnv: previousSecretEnv, expiresAt: previousSecretExpiresAt })];
  }
  const { secret: _s, secretEnv: _e, previousSecrets: _p, ...others } = rest;
  const out: Record<string, unknown> = {
    ...others,
    ...(newest.secret !== undefined ? { secret: newest.secret } : { secretEnv: newest.secretEnv }),
  };
  if (previous.length > 0) out.previousSecrets = previous;
  return out as Omit<T, 'secrets' | 'previousSecretEnv' | 'previousSecretExpiresAt'>;
}
