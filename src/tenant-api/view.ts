// What a tenant sees of its endpoint: no secret, no variable name of the operator's, no
// operator-side flag; sensitive custom header values shown as "[hidden]". Built field by
// field, so a field added to the schema later is shown only once someone decides it should be.
import { publicHeaders } from '../dashboard/public-view.js';
import type { EndpointConfig } from '../tenants/schema.js';

export interface TenantEndpointView {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  headers: Record<string, string>;
  enabled: boolean;
  disabled: { reason: string; since: string } | null;
  broken: { reason: string; since: string } | null;
  signature: { scheme: string; publishPublicKey: boolean };
  filter: string | null;
  transform: string | null;
  /** Secrets being sent: the current one and those still in their rotation overlap. */
  secrets: { active: number; previousExpireAt: string[] };
  timeoutMs: number;
  retry: { attempts: number; backoffMs: number };
}

export function tenantEndpointView(ep: EndpointConfig): TenantEndpointView {
  const previous = ep.previousSecrets ?? [];
  return {
    id: ep.id,
    url: ep.url,
    description: ep.description ?? null,
    events: [...ep.events],
    headers: publicHeaders(ep.headers),
    enabled: ep.enabled,
    disabled: ep.disabled ?? null,
    broken: ep.broken ?? null,
    signature: { scheme: ep.signature?.scheme ?? 'wss', publishPublicKey: ep.signature?.publishPublicKey === true },
    filter: ep.filter ?? null,
    transform: ep.transform ?? null,
    secrets: { active: 1 + previous.length, previousExpireAt: previous.map((p) => p.expiresAt ?? '').filter(Boolean) },
    timeoutMs: ep.timeoutMs,
    retry: { attempts: ep.retry.attempts, backoffMs: ep.retry.backoffMs },
  };
}
