// The demo's receiving side: a plain node:http server that checks every request exactly as
// docs/wire-contract.md tells a third party to (verifySignature over the raw body).
import { createServer, type Server } from 'node:http';
import { verifySignature, WebhookVerificationError } from '../verify/index.js';

interface DemoDelivery {
  path: string;
  eventId: string;
  attempt: string;
  verified: boolean;
  status: number;
  body: string;
}

interface DemoReceiverOptions {
  port: number;
  /** Secret per path, as each third party would hold its own. */
  secrets: ReadonlyMap<string, string>;
  /** Status to answer with; the demo fails one delivery once to show a retry. */
  statusFor: (path: string, attempt: number) => number;
  onDelivery: (d: DemoDelivery) => void;
}

export async function startDemoReceiver(opts: DemoReceiverOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const raw = Buffer.concat(chunks);
      const secret = opts.secrets.get(path);
      let verified = false;
      let status: number;
      try {
        verifySignature({
          secret: secret ?? '',
          body: raw,
          timestamp: req.headers['x-wss-timestamp'] as string | undefined,
          signature: req.headers['x-wss-signature'] as string | undefined,
        });
        verified = true;
        status = opts.statusFor(path, Number(req.headers['x-wss-attempt'] ?? 1));
      } catch (err) {
        status = err instanceof WebhookVerificationError ? 401 : 500;
      }
      opts.onDelivery({
        path,
        eventId: String(req.headers['x-wss-event-id'] ?? ''),
        attempt: String(req.headers['x-wss-attempt'] ?? ''),
        verified,
        status,
        body: raw.toString('utf8'),
      });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'demo says no');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  return server;
}
