// One delivery attempt, free of BullMQ: look the endpoint up, sign, POST, classify. It returns
// a DeliveryResult (2xx) or throws a DeliveryError carrying its outcome; the worker turns that
// into BullMQ terms (settle-attempt.ts).
import { classifyStatus } from './classify-response.js';
import { DeliveryError, errorMessage } from '../lib/errors.js';
import type { DeliveryJobData, DeliveryResult } from '../queue/job.js';
import type { Logger } from '../lib/log.js';
import { prepareSigner, signatureHeaders } from '../signing/signer.js';
import { undecryptableFields } from '../signing/stored-secrets.js';
import type { EndpointConfig } from '../tenants/schema.js';
import type { PostRequest, PostResponse } from './http.js';
import type { Span, Tracer } from '../tracing/types.js';
import { endHttpSpan, failHttpSpan, propagate, startHttpSpan } from './spans.js';

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
  /** With tracing on: the attempt's span, parent of the request's HTTP CLIENT span (spans.ts). */
  trace?: { tracer: Tracer; attempt: Span } | undefined;
}

function checkJobData(data: DeliveryJobData): void {
  for (const k of ['eventId', 'tenant', 'endpoint', 'type', 'body'] as const) {
    if (typeof data[k] !== 'string')
      throw new DeliveryError('BAD_JOB', `job data has no string "${k}"`, { outcome: 'failed' });
  }
}

/**
 * The headers of one attempt. Endpoint headers first, so ours always win (the schema also forbids clashes).
 * `signed` holds the scheme's timestamp and signature headers (src/signing/signer.ts). `redelivery`:
 * an earlier request for this job may have reached the receiver without its outcome being
 * recorded (a worker died or lost the job's lock). A replayed job (docs/delivery-log.md) says so too.
 */
export function attemptHeaders(
  ep: EndpointConfig,
  data: DeliveryJobData,
  signed: Readonly<Record<string, string>>,
  attempt: number,
  ua: string,
  redelivery = false,
  sequence?: number,
): Record<string, string> {
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
  if (data.replay === true) headers['X-WSS-Replay'] = 'true';
  // Ordering keys (docs/ordering.md): not covered by the signature, which covers the body only.
  if (data.ordering && sequence !== undefined) {
    headers['X-WSS-Ordering-Key'] = encodeURIComponent(data.ordering.key);
    headers['X-WSS-Sequence'] = String(sequence);
  }
  return headers;
}

/**
 * Runs attempt number `attempt` (1-based) of the job. Nothing is sent when the endpoint is
 * missing or disabled or its secret cannot be found.
 */
export async function deliverAttempt(
  deps: DeliverDeps,
  data: DeliveryJobData,
  attempt: number,
  opts: { redelivery?: boolean; sequence?: number } = {},
): Promise<DeliveryResult> {
  checkJobData(data);
  const ep = deps.endpoint(data.tenant, data.endpoint);
  if (!ep)
    throw new DeliveryError('ENDPOINT_DELETED', `endpoint ${data.tenant}/${data.endpoint} no longer exists`, {
      outcome: 'failed',
    });
  if (!ep.enabled)
    throw new DeliveryError('ENDPOINT_DISABLED', `endpoint ${data.tenant}/${data.endpoint} is disabled`, {
      outcome: 'failed',
    });

  // The URL and header values are encrypted at rest too (WSS_SECRETS_KEY): never send ciphertext.
  // (A secret that cannot be decrypted is reported by the signer.)
  const sealed = undecryptableFields(ep).filter((f) => f.field === 'url' || f.field.startsWith('headers.'));
  if (sealed.length > 0)
    throw new DeliveryError(
      'SECRET_UNAVAILABLE',
      `endpoint ${data.tenant}/${data.endpoint}: ${sealed.map((f) => f.field).join(', ')} encrypted with key id "${sealed[0]!.keyId}", which WSS_SECRETS_KEY does not hold`,
      { outcome: 'retry' },
    );
  // Throws SECRET_UNAVAILABLE (retryable) when a secret variable or decryption key is missing,
  // SECRET_ENV_FORBIDDEN (failed) when the endpoint names another tenant's variable.
  const signer = prepareSigner(ep, deps.readSecretEnv, data.tenant);
  const signed = signatureHeaders(signer, data.eventId, data.body, deps.now());
  const headers = attemptHeaders(ep, data, signed, attempt, deps.userAgent, opts.redelivery === true, opts.sequence);
  const span = deps.trace && startHttpSpan(deps.trace.tracer, deps.trace.attempt, ep.url);
  // The receiver continues the trace from the request's span, unless the endpoint says no.
  if (span && ep.traceContext !== false) propagate(span, headers);
  let res: PostResponse;
  try {
    res = await deps.post({
      url: ep.url,
      headers,
      body: data.body,
      timeoutMs: ep.timeoutMs,
      signals: deps.signals,
      ...(ep.publicOnly === true ? { publicOnly: true } : {}),
    });
  } catch (err) {
    if (span) failHttpSpan(span, err);
    throw err;
  }
  if (span) endHttpSpan(span, res.status);

  const verdict = classifyStatus({
    status: res.status,
    retryAfter: res.retryAfter,
    nowMs: deps.now(),
    retryAfterMaxMs: deps.retryAfterMaxMs,
  });
  if (verdict.outcome === 'delivered') return { status: res.status, ms: res.ms, attempt, snippet: res.snippet };
  if (verdict.outcome === 'disabled') await disableGone(deps, data, res.status);
  const retryAfter =
    verdict.outcome === 'retry' && verdict.retryAfterMs !== undefined ? { retryAfterMs: verdict.retryAfterMs } : {};
  const code = verdict.outcome === 'disabled' ? 'ENDPOINT_GONE' : 'HTTP_STATUS';
  throw new DeliveryError(code, verdict.reason, {
    outcome: verdict.outcome,
    status: res.status,
    snippet: res.snippet,
    ...retryAfter,
  });
}

/** The endpoint answered 410 Gone: mark it disabled in the registry. */
async function disableGone(deps: DeliverDeps, data: DeliveryJobData, status: number): Promise<void> {
  deps.log.warn(
    { tenant: data.tenant, endpoint: data.endpoint, eventId: data.eventId, status },
    'endpoint answered 410 Gone: disabling it',
  );
  try {
    await deps.disableEndpoint(data.tenant, data.endpoint);
  } catch (err) {
    // The job still gives up; the next job for this endpoint meets the 410 and tries again.
    deps.log.error(
      { tenant: data.tenant, endpoint: data.endpoint, err: errorMessage(err) },
      'could not disable endpoint after 410',
    );
  }
}
