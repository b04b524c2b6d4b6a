// A tenant request the service refuses, with the HTTP status the API answers and every problem
// named. The portal shows the same problems on its forms.
import { WssError } from '../lib/errors.js';

export class TenantRequestError extends WssError {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 503,
    readonly problems: readonly string[],
  ) {
    super('TENANT_REQUEST_REFUSED', problems.join('; '));
  }
}

export const notFound = (what: string) => new TenantRequestError(404, [`${what} not found`]);
export const badRequest = (...problems: string[]) => new TenantRequestError(400, problems);
