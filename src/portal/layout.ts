// The frame of every portal page: the operator's product name (WSS_PORTAL_PRODUCT_NAME), the
// tenant's name, navigation, sign-out, and one status or error area that screen readers
// announce. Pages carry no script at all; the CSP (router.ts) allows none.
import { html, type SafeHtml } from './html.js';

export interface Branding {
  productName: string;
}

export interface PageInput {
  title: string;
  branding: Branding;
  /** The tenant's display name; undefined on pages outside a session (link, signed out). */
  tenant?: string | undefined;
  /** Which navigation entry is current. */
  nav?: 'endpoints' | 'deliveries';
  body: SafeHtml;
  notice?: string | undefined;
  problems?: readonly string[] | undefined;
  /** Seconds until the browser reloads the page (while deliveries are pending), or a redirect. */
  refresh?: { seconds: number; url?: string };
}

export function problemsBlock(problems: readonly string[] | undefined): SafeHtml {
  if (!problems || problems.length === 0) return html``;
  return html`<div class="error" role="alert">
    <p>${problems.length === 1 ? 'Please fix this:' : 'Please fix these:'}</p>
    <ul>
      ${problems.map((p) => html`<li>${p}</li>`)}
    </ul>
  </div>`;
}

export function page(p: PageInput): string {
  const current = (name: string) => (p.nav === name ? html` aria-current="page"` : html``);
  const refresh = p.refresh
    ? html`<meta
        http-equiv="refresh"
        content="${p.refresh.url ? `${p.refresh.seconds};url=${p.refresh.url}` : String(p.refresh.seconds)}"
      />`
    : html``;
  const top =
    p.tenant === undefined
      ? html`<header class="top"><span class="brand">${p.branding.productName}</span></header>`
      : html`<header class="top">
          <span class="brand">${p.branding.productName}</span>
          <span class="tenant">${p.tenant}</span>
          <nav aria-label="Portal">
            <a href="/portal" ${current('endpoints')}>Endpoints</a>
            <a href="/portal/deliveries" ${current('deliveries')}>Deliveries</a>
          </nav>
          <form method="post" action="/portal/logout"><button type="submit" class="secondary">Sign out</button></form>
        </header>`;
  return `<!doctype html>\n${html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      ${refresh}
      <title>${p.title} · ${p.branding.productName}</title>
      <link rel="stylesheet" href="/portal/portal.css" />
    </head>
    <body>
      <a class="skip" href="#main">Skip to content</a>
      ${top}
      <main id="main">
        <div role="status">${p.notice ? html`<p class="notice">${p.notice}</p>` : ''}</div>
        ${problemsBlock(p.problems)} ${p.body}
      </main>
    </body>
  </html> `}`;
}

/** A page with a heading and one paragraph (signed out, link used, not found). */
export function messagePage(branding: Branding, title: string, text: string, tenant?: string): string {
  return page({
    title,
    branding,
    tenant,
    body: html`<h1>${title}</h1>
      <p>${text}</p>`,
  });
}
