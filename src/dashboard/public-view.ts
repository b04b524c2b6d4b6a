// What the admin API may show of an endpoint: everything but the secret's value, the values of
// headers that look like credentials, and the URL's credentials and query values.
import { redactedUrl } from '../tenants/endpoint-url.js';
import type { EndpointConfig } from '../tenants/schema.js';

type PublicEndpoint = Omit<EndpointConfig, 'secret' | 'previousSecrets'> & {
  secretSet: boolean;
  /** Older secrets still sent (rotation overlap): their variable names and expiries, never values. */
  previousSecrets?: Array<{ secretEnv?: string | undefined; expiresAt?: string | undefined }>;
};

// Endpoint headers may carry a receiver's API token: show that such a header is set, not its value.
const SENSITIVE_HEADER = /auth|token|key|secret|cookie|pass|signature|credential/i;
export const HIDDEN = '[hidden]';

export function publicHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, SENSITIVE_HEADER.test(k) ? HIDDEN : v]));
}

export function publicEndpoint(ep: EndpointConfig): PublicEndpoint {
  // Built field by field rather than by deleting `secret`, so a field added to the schema
  // later is shown only once someone decides it is safe to show.
  return {
    id: ep.id,
    // No userinfo, query values hidden (endpoint-url.ts).
    url: redactedUrl(ep.url, HIDDEN),
    ...(ep.description !== undefined ? { description: ep.description } : {}),
    ...(ep.publicOnly !== undefined ? { publicOnly: ep.publicOnly } : {}),
    ...(ep.traceContext !== undefined ? { traceContext: ep.traceContext } : {}),
    secretSet: ep.secret !== undefined || ep.secretEnv !== undefined,
    ...(ep.secretEnv !== undefined ? { secretEnv: ep.secretEnv } : {}),
    ...(ep.previousSecrets
      ? {
          previousSecrets: ep.previousSecrets.map((p) => ({
            ...(p.secretEnv !== undefined ? { secretEnv: p.secretEnv } : {}),
            expiresAt: p.expiresAt,
          })),
        }
      : {}),
    ...(ep.signature !== undefined ? { signature: ep.signature } : {}),
    events: ep.events,
    ...(ep.filter !== undefined ? { filter: ep.filter } : {}),
    ...(ep.transform !== undefined ? { transform: ep.transform } : {}),
    headers: publicHeaders(ep.headers),
    timeoutMs: ep.timeoutMs,
    retry: ep.retry,
    enabled: ep.enabled,
    // Reasons carry error codes and positions only, never event data.
    ...(ep.broken !== undefined ? { broken: ep.broken } : {}),
    ...(ep.circuit !== undefined ? { circuit: ep.circuit } : {}),
    ...(ep.disabled !== undefined ? { disabled: ep.disabled } : {}),
  };
}
