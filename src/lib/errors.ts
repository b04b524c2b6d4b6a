// Errors carry a stable `code`. A DeliveryError also carries its outcome from where it is
// thrown; the worker only adds the attempt count (src/workers/settle-attempt.ts).

export class WssError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad environment variable: start-up stops with this message. */
export class ConfigError extends WssError {
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super('CONFIG_INVALID', message);
  }
}

/** A tenants file or admin-API payload that does not validate. */
export class TenantsValidationError extends WssError {
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super('TENANTS_INVALID', message);
  }
}

/** A CLI usage mistake. */
export class UsageError extends WssError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** Redis could not be reached or started. */
export class RedisUnavailableError extends WssError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REDIS_UNAVAILABLE', message, options);
  }
}

/** An event for a tenant the registry does not have (`wss publish` without --no-check). */
export class UnknownTenantError extends WssError {
  constructor(message: string) {
    super('UNKNOWN_TENANT', message);
  }
}

/** A wait given up because the process was asked to stop (SIGTERM during start-up). */
export class AbortedError extends WssError {
  constructor(message: string) {
    super('ABORTED', message);
  }
}

export type DeliveryErrorCode =
  | 'HTTP_STATUS'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'ENDPOINT_GONE'
  | 'ENDPOINT_DISABLED'
  | 'ENDPOINT_DELETED'
  | 'SECRET_UNAVAILABLE'
  | 'SECRET_ENV_FORBIDDEN'
  | 'URL_REFUSED'
  | 'BAD_JOB';

/** How one delivery attempt ended: the words of the logs, the metrics and the dashboard. */
export type Outcome = 'delivered' | 'retry' | 'failed' | 'disabled';

/**
 * One failed delivery attempt and what it means for its job: 'retry' goes back to BullMQ, which
 * schedules the next attempt (honouring `retryAfterMs` when set) unless it was the last one;
 * 'failed' is not retried; 'disabled' is not retried either, the endpoint was disabled (410 Gone).
 * Messages never contain the secret or the body.
 */
export class DeliveryError extends WssError {
  declare readonly code: DeliveryErrorCode;
  readonly outcome: Exclude<Outcome, 'delivered'>;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly snippet: string | undefined;
  constructor(
    code: DeliveryErrorCode,
    message: string,
    opts: {
      outcome: Exclude<Outcome, 'delivered'>;
      status?: number;
      retryAfterMs?: number;
      snippet?: string;
      cause?: unknown;
    },
  ) {
    super(code, message, { cause: opts.cause });
    this.outcome = opts.outcome;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
    this.snippet = opts.snippet;
  }
}

/** The message of anything thrown: an Error's message, or the value as text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A port the process must listen on is held by another process; the message names the variable. */
export class PortInUseError extends WssError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PORT_IN_USE', message, options);
  }
}
