// Secret rotation with overlap, pure: the new secret becomes the newest, the one it replaces
// keeps being sent until now + overlap, and expired ones are dropped. Only the tenant's own
// variables may be named (secret-env.ts). Used by the admin API's
// rotate-secret route and by `wss rotate-secret`.
import type { EndpointConfig } from '../tenants/schema.js';
import { MAX_ACTIVE_SECRETS, secretProblem, type Scheme } from './keys.js';
import { foreignSecretEnvMessage, ownsSecretEnv } from './secret-env.js';
import { withoutExpired } from './stored-secrets.js';

const DEFAULT_OVERLAP = '24h';
const MAX_OVERLAP_MS = 7 * 86_400_000;
const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A rotation request that cannot be carried out; `field` is the input field to name. */
export class RotationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`field "${field}": ${message}`);
    this.name = 'RotationError';
  }
}

/** "24h", "90m", "3600s", "0s" (a hard cut), "2d": at most 7 days. */
export function parseOverlap(text: unknown): number {
  if (text === undefined) return parseOverlap(DEFAULT_OVERLAP);
  const m = typeof text === 'string' ? /^(\d{1,12})(ms|s|m|h|d)$/.exec(text.trim()) : null;
  if (!m) throw new RotationError('overlap', 'must be a duration such as "24h", "90m", "30s" or "0s"');
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (ms > MAX_OVERLAP_MS) throw new RotationError('overlap', 'must be at most 7 days ("7d")');
  return ms;
}

export type NewSecret = { secret: string } | { secretEnv: string };

export function schemeOf(ep: EndpointConfig): Scheme {
  return ep.signature?.scheme ?? 'wss';
}

/**
 * The endpoint of `tenant` after rotating to `next` at `nowMs` with `overlapMs` during which the
 * old one is still sent. A variable of another tenant is refused, as the new secret and as an
 * old one kept for the overlap (stored before the rule: docs/signatures.md#upgrading).
 */
export function rotateSecret(
  ep: EndpointConfig,
  next: NewSecret,
  overlapMs: number,
  nowMs: number,
  tenant: string,
): EndpointConfig {
  if ('secret' in next) {
    const problem = secretProblem(schemeOf(ep), next.secret);
    if (problem) throw new RotationError('secret', problem);
  } else if (!ownsSecretEnv(tenant, next.secretEnv)) {
    throw new RotationError('secretEnv', foreignSecretEnvMessage(tenant, ep.id, 'secretEnv', next.secretEnv));
  }
  const current = withoutExpired(ep, nowMs);
  const previous = [...(current.previousSecrets ?? [])];
  if (overlapMs > 0) {
    const expiresAt = new Date(nowMs + overlapMs).toISOString();
    previous.unshift(
      current.secret !== undefined
        ? { secret: current.secret, expiresAt }
        : { secretEnv: current.secretEnv, expiresAt },
    );
  }
  if (previous.length + 1 > MAX_ACTIVE_SECRETS) {
    const soonest = previous.map((p) => p.expiresAt ?? '').sort()[0];
    throw new RotationError(
      'overlap',
      `the endpoint would have ${previous.length + 1} active secrets (at most ${MAX_ACTIVE_SECRETS}); wait until the oldest expires (${soonest}) or rotate with overlap "0s"`,
    );
  }
  const foreign = previous.find((p) => p.secretEnv !== undefined && !ownsSecretEnv(tenant, p.secretEnv));
  if (foreign !== undefined)
    throw new RotationError(
      'overlap',
      `${foreignSecretEnvMessage(tenant, ep.id, 'secretEnv', foreign.secretEnv!)}; it cannot stay active during an overlap: rotate with overlap "0s"`,
    );
  const { secret: _s, secretEnv: _e, previousSecrets: _p, ...rest } = current;
  return { ...rest, ...next, ...(previous.length > 0 ? { previousSecrets: previous } : {}) };
}
