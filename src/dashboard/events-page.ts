// The event page, /admin/events: look an event id up and see what happened to it (GET
// /api/events/:id), with a Recover button on a failed delivery (POST .../recover). Mounted behind
// the dashboard's basic auth and same-origin check. The page is static: its script and style are
// files of this origin, so the CSP allows nothing inline and nothing from elsewhere.
import { Router } from 'express';
import { EVENTS_PAGE_SCRIPT } from './events-page-script.js';

export const EVENTS_PATH = '/admin/events';

const EVENTS_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Event lookup · webhook-sender</title>
<link rel="stylesheet" href="${EVENTS_PATH}/events.css">
<script src="${EVENTS_PATH}/events.js" defer></script>
</head>
<body>
<header><h1>Where is my event?</h1><nav><a href="/admin/queues">Queues (Bull Board)</a></nav></header>
<form id="lookup" method="get" action="${EVENTS_PATH}">
<label for="event-id">Event id</label>
<input id="event-id" name="id" autocomplete="off" required maxlength="200" spellcheck="false">
<button type="submit">Look up</button>
</form>
<p id="message" role="status" aria-live="polite"></p>
<main id="result"></main>
</body>
</html>
`;

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem 1.5rem;color:#1d2330}
header{display:flex;justify-content:space-between;align-items:baseline}
h1{font-size:1.4rem}h2{font-size:1.1rem}h3{font-size:1rem;margin:.2rem 0}
form{display:flex;gap:.5rem;align-items:center}input{flex:1;padding:.35rem;font:inherit}
button{padding:.35rem .9rem;font:inherit;cursor:pointer}
#message.error{color:#a11}#message.ok{color:#171}
.event{border:1px solid #ccd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.delivery{border-top:1px solid #e3e3ea;padding:.5rem 0}
.state{font-size:.85rem;padding:.1rem .45rem;border-radius:4px;background:#eef}
.state-delivered{background:#dfd}.state-failed{background:#fdd}.state-cancelled{background:#eee}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.2rem .4rem;border-bottom:1px solid #eee;vertical-align:top}
pre{margin:0;white-space:pre-wrap;word-break:break-all;max-height:8rem;overflow:auto;font-size:.8rem}
`;

export function eventsPageRouter(): Router {
  const router = Router();
  const send = (type: string, body: string) => (_req: unknown, res: import('express').Response) => {
    res.set({ 'Content-Type': type, 'Content-Security-Policy': EVENTS_PAGE_CSP, 'Cache-Control': 'no-cache' });
    res.send(body);
  };
  router.get('/', send('text/html; charset=utf-8', HTML));
  router.get('/events.js', send('text/javascript; charset=utf-8', EVENTS_PAGE_SCRIPT));
  router.get('/events.css', send('text/css; charset=utf-8', CSS));
  return router;
}
