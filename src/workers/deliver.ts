// One delivery attempt, free of BullMQ: look the endpoint up, sign, POST, classify. It returns
// a DeliveryResult (2xx) or throws a DeliveryError; the worker turns that into BullMQ terms.
import { classifyStatus } from './classify-response.js';
import { DeliveryError } from '../errors.js';
import type { DeliveryJobData, DeliveryResult } from '../job.js';
import type { Logger } from '../log.js';
import { prepareSigner, signatureHeaders } from '../signing/signer.js';
import type { EndpointConfig } from '../tenants/schema.js';
import type { PostRequest, PostResponse } from './http.js';

export interface DeliverDeps {
  /** The endpoint as the registry snapshot has it now (secret included), or undefined. */
  endpoint(tenant: string, endpoint: string): EndpointConfig | undefined;
  readSecretEnv(name: string): string | undefined;
  post(req: PostRequest): Promise<PostResponse>;
  /** Marks the endpoint disabled in the registry (410 Gone). */
  disableEndpoint(tenant: string, endpoint: string): Promise<void>;
  now(): number;
  userAgent: string;
  retryAfterMaxMs: number;
  log: Logger;
  /** Any of these aborting aborts the request (shutdown, lost job lock). */
  signals?: ReadonlyArray<AbortSignal | undefined>;
}

function checkJobData(data: DeliveryJobData): void {
  for (const k of ['eventId', 'tenant', 'endpoint', 'type', 'body'] as const) {
    if (typeof data[k] !== 'string') throw new DeliveryError('BAD_JOB', `job data has no string "${k}"`, { permanent: true });
  }
}

/**
 * The headers of one attempt. Endpoint headers first, so ours always win (the schema also forbids clashes).
 * `signed` holds the scheme's timestamp and signature headers (src/signing/signer.ts). `redelivery`:
 * an earlier request for this job may have reached the receiver without its outcome being
 * recorded (a worker died or lost the job's lock).
 */
export function attemptHeaders(ep: EndpointConfig, data: DeliveryJobData, signed: Readonly<Record<string, string>>, attempt: number, ua: string, redelivery = false): Record<string, string> {
  const headers: Record<string, string> = {
    ...ep.headers,
    'Content-Type': 'application/json',
    'User-Agent': ua,
    ...signed,
    'X-WSS-Event-Id': data.eventId,
    'X-WSS-Event-Type': data.type,
    'X-WSS-Attempt': String(attempt),
  };
  if (redelivery) headers['X-WSS-Redelivery'] = 'true';
  return headers;
}

/**
 * Runs attempt number `attempt` (1-based) of the job. Nothing is sent when the endpoint is
 * missing or disabled or its secret cannot be found.
 */
export async function deliverAttempt(deps: DeliverDeps, data: DeliveryJobData, attempt: number, opts: { redelivery?: boolean } = {}): Promise<DeliveryResult> {
  checkJobData(data);
  const ep = deps.endpoint(data.tenant, data.endpoint);
  if (!ep) throw new DeliveryError('ENDPOINT_DELETED', `endpoint ${data.tenant}/${data.endpoint} no longer exists`, { permanent: true });
  if (!ep.enabled) throw new DeliveryError('ENDPOINT_DISABLED', `endpoint ${data.tenant}/${data.endpoint} is disabled`, { permanent: true });

  // Throws SECRET_UNAVAILABLE (retryable) when a secret variable or decryption key is missing.
  const signer = prepareSigner(ep, deps.readSecretEnv);
  const signed = signatureHeaders(signer, data.eventId, data.body, deps.now());
  const res = await deps.post({
    url: ep.url,
    headers: attemptHeaders(ep, data, signed, attempt, deps.userAgent, opts.redelivery === true),
    body: data.body,
    timeoutMs: ep.timeoutMs,
    signals: deps.signals,
  });

  const verdict = classifyStatus({ status: res.status, retryAfter: res.retryAfter, nowMs: deps.now(), retryAfterMaxMs: deps.retryAfterMaxMs });
  const common = { status: res.status, snippet: res.snippet };
  switch (verdict.kind) {
    case 'delivered':
      return { status: res.status, ms: res.ms, attempt, snippet: res.snippet };
    case 'retry':
      throw new DeliveryError('HTTP_STATUS', verdict.reason, { permanent: false, ...common, ...(verdict.retryAfterMs === undefined ? {} : { retryAfterMs: verdict.retryAfterMs }) });
    case 'give-up':
      throw new DeliveryError('HTTP_STATUS', verdict.reason, { permanent: true, ...common });
    case 'disable': {
      deps.log.warn({ tenant: data.tenant, endpoint: data.endpoint, eventId: data.eventId, status: res.status }, 'endpoint answered 410 Gone: disabling it');
      try {
        await deps.disableEndpoint(data.tenant, data.endpoint);
      } catch (err) {
        // The job still gives up; the next job for this endpoint meets the 410 and tries again.
        deps.log.error({ tenant: data.tenant, endpoint: data.endpoint, err: (err as Error).message }, 'could not disable endpoint after 410');
      }
      throw new DeliveryError('ENDPOINT_GONE', verdict.reason, { permanent: true, ...common });
    }
  }
}
