// How portal handlers answer: a page, a 303 redirect after a successful form, or, for a
// refused request, a page naming every problem (404 for what does not exist or is not the
// tenant's).
import type { Request, Response } from 'express';
import { TenantRequestError } from '../tenant-api/errors.js';
import { ID_PATTERN } from '../tenants/schema.js';
import { html } from './html.js';
import { page, type Branding } from './layout.js';

export type Outcome = { redirect: string } | { html: string; status?: number };

export function errorPage(branding: Branding, res: Response, err: TenantRequestError): void {
  const title = err.status === 404 ? 'Not found' : 'Cannot do that';
  res
    .status(err.status)
    .type('html')
    .send(
      page({
        title,
        branding,
        body: html`<h1>${title}</h1>
          <p><a href="/portal">Back to the portal</a></p>`,
        problems: err.problems,
      }),
    );
}

/** A handler answering with what `fn` decides; TenantRequestErrors become error pages. */
export function respond(branding: Branding, fn: (req: Request, res: Response) => Promise<Outcome>) {
  return async (req: Request, res: Response): Promise<void> => {
    try {
      const out = await fn(req, res);
      if ('redirect' in out) return res.redirect(303, out.redirect);
      res
        .status(out.status ?? 200)
        .type('html')
        .send(out.html);
    } catch (err) {
      if (!(err instanceof TenantRequestError)) throw err;
      errorPage(branding, res, err);
    }
  };
}

/** Runs `act`; a refusal other than 404 becomes `again(problems)` with the refusal's status. */
export async function orAgain(
  act: () => Promise<Outcome>,
  again: (problems: readonly string[]) => Promise<string>,
): Promise<Outcome> {
  try {
    return await act();
  } catch (err) {
    if (!(err instanceof TenantRequestError) || err.status === 404) throw err;
    return { html: await again(err.problems), status: err.status };
  }
}

/** An endpoint id from the URL; one that cannot exist is simply not found. */
export function idOf(text: string | undefined): string {
  if (text === undefined || !ID_PATTERN.test(text))
    throw new TenantRequestError(404, [`endpoint "${(text ?? '').slice(0, 64)}" not found`]);
  return text;
}
