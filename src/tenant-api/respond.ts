// How the tenant API and the operator's access routes answer: JSON, with every problem named.
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { TenantRequestError } from './errors.js';

export function fail(res: Response, status: number, error: string, problems: readonly string[] = [error]): void {
  res.status(status).json({ error, problems });
}

/** An async handler whose TenantRequestError becomes its answer (anything else: the error handler). */
export function handle(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return async (req, res) => {
    try {
      await fn(req, res);
    } catch (err) {
      if (!(err instanceof TenantRequestError)) throw err;
      fail(res, err.status, err.message, err.problems);
    }
  };
}

/** The request body as an object (none at all counts as `{}`), or a 400 naming what is wrong. */
export function bodyOf(req: Request): Record<string, unknown> {
  const b: unknown = req.body ?? {};
  if (b !== null && typeof b === 'object' && !Array.isArray(b)) return b as Record<string, unknown>;
  throw new TenantRequestError(400, ['the request body must be a JSON object (Content-Type: application/json)']);
}

/** Body parser failures as 400/413, anything else logged (without the request) as a 500. */
export function jsonErrors(log: Logger, what: string, limit: string): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const e = err as { type?: string };
    if (e.type === 'entity.parse.failed') return fail(res, 400, 'the request body is not valid JSON');
    if (e.type === 'entity.too.large') return fail(res, 413, `the request body is larger than ${limit}`);
    log.error({ err: errorMessage(err) }, `${what}: request failed`);
    fail(res, 500, 'internal error (see the server log)');
  };
}

/** A named route parameter as text ('' when absent or a wildcard's list). */
export function param(req: Request, name: string): string {
  const v: unknown = (req.params as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}
