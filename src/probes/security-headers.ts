// Kept apart from server.ts so the health server does not load bull-board.
import type { Express } from 'express';

/** Headers every response carries; frame-ancestors stops a page from framing the Retry buttons. */
export function securityHeaders(app: Express): void {
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set({
      'X-Frame-Options': 'DENY',
      'Content-Security-Policy': "frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
    });
    next();
  });
}
