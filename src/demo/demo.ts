// `npm run demo`: the whole service on the embedded default, the example tenants, a local
// receiver that verifies every signature, and a few events (one fails once and is retried).
// `--once` exits after the expected deliveries (used by the test suite). Anything that stops it
// (a port taken, no Redis) is one line saying what to do, not a stack trace.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { configWith } from '../config.js';
import { createLogger } from '../lib/log.js';
import { escapeControls as x } from '../lib/terminal.js';
import { publishTo } from '../queue/publish.js';
import { createPublisher } from '../producers/sources/index.js';
import { ALL_ROLES, startService } from '../cli/start.js';
import { loadTenantsFile } from '../tenants/load-file.js';
import { addressInUse } from '../probes/listen.js';
import { errorMessage } from '../lib/errors.js';
import { startDemoReceiver } from './receiver.js';

// The example tenants file points at 127.0.0.1:4000; --receiver-port moves the receiver and
// rewrites those URLs (the test suite uses a free port).
const portArg = process.argv.indexOf('--receiver-port');
const RECEIVER_PORT = portArg > 0 ? Number(process.argv[portArg + 1]) : 4000;
const MOVE = '--receiver-port <port> (npm run demo -- --receiver-port 4001)';
if (!Number.isInteger(RECEIVER_PORT) || RECEIVER_PORT < 0 || RECEIVER_PORT > 65_535) {
  process.stderr.write(`demo: --receiver-port needs a port number, e.g. ${MOVE}\n`);
  process.exit(2);
}
const GLOBEX_SECRET = 'globex-demo-secret-0123456789';
const tenantsFile = fileURLToPath(new URL('../../examples/tenants.json', import.meta.url));
const once = process.argv.includes('--once');
const say = (line: string) => process.stdout.write(`${line}\n`);
/** One line on stderr and exit 1: what stopped the demo and what to do. */
const stop = (line: string): never => {
  process.stderr.write(`demo: ${line}\n`);
  process.exit(1);
};

// The example file names this variable for globex's secret; the demo plays the operator.
process.env.WSS_SECRET_GLOBEX_ALL ??= GLOBEX_SECRET;

const password = process.env.WSS_DASHBOARD_PASSWORD || randomBytes(9).toString('base64url');
const config = configWith({
  // The demo's receiver is on 127.0.0.1; real deployments keep the SSRF guard on.
  WSS_ALLOW_PRIVATE_URLS: 'true',
  WSS_DASHBOARD_PASSWORD: password,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  ...(once ? { PORT: '0', WSS_STREAM: `wss:demo:${process.pid}`, WSS_PREFIX: `wss-demo-${process.pid}` } : {}),
});
const log = createLogger(config.logLevel);

const file = await loadTenantsFile(tenantsFile, { allowPrivateUrls: config.allowPrivateUrls });
const secrets = new Map<string, string>();
for (const t of file.tenants) {
  for (const ep of t.endpoints) {
    const url = new URL(ep.url);
    url.port = String(RECEIVER_PORT);
    ep.url = url.toString();
    secrets.set(url.pathname, ep.secret ?? process.env[ep.secretEnv ?? ''] ?? '');
  }
}

let failedOnce = false;
let delivered = 0;
const EXPECTED = 5;
let finish: () => void = () => {};
const done = new Promise<void>((r) => (finish = r));

const receiver = await startDemoReceiver({
  port: RECEIVER_PORT,
  secrets,
  statusFor: (path) => {
    if (path === '/globex/all' && !failedOnce) {
      failedOnce = true;
      return 500;
    }
    return 200;
  },
  onDelivery: (d) => {
    const mark = d.status < 300 ? 'OK ' : 'ERR';
    say(
      `receiver: ${mark} ${d.status} ${x(d.path).padEnd(13)} attempt ${x(d.attempt)}  event ${x(d.eventId)}  signature ${d.verified ? 'valid' : 'INVALID'}  body ${x(d.body)}`,
    );
    if (d.status < 300 && ++delivered >= EXPECTED) finish();
  },
}).catch((err: unknown) =>
  stop(
    addressInUse(err)
      ? `port ${RECEIVER_PORT} (the demo's receiver) is already in use; move the receiver with ${MOVE}`
      : errorMessage(err),
  ),
);
say(
  `demo: receiver on http://127.0.0.1:${RECEIVER_PORT} (move it with --receiver-port) verifies X-WSS-Signature with verifySignature (src/verify)`,
);

const service = await startService(config, ALL_ROLES, log).catch((err: unknown) => {
  receiver.close();
  // PortInUseError names PORT; RedisUnavailableError says where Redis was looked for.
  return stop(errorMessage(err));
});
// Forced: the demo's receiver holds the file's secrets, whatever a rotation left in Redis.
await service.ctx.registry.seed(file, { replace: false, force: true });
say(`demo: seeded ${tenantsFile}`);
const dashboard = service.roles.find((r) => r.name === 'dashboard') as { url?: string } | undefined;
say(
  `demo: dashboard ${dashboard?.url ?? `http://127.0.0.1:${config.dashboard.port}`}/admin/queues  user: ${config.dashboard.user}  password: ${password}`,
);

const events = [
  { tenant: 'acme', type: 'order.updated', data: { orderId: 'o-1', status: 'shipped', total: 42 } },
  { tenant: 'acme', type: 'order.updated', data: { orderId: 'o-2', status: 'pending' } },
  { tenant: 'acme', type: 'invoice.paid', data: { invoiceId: 'in-7', amount: 42 } },
  { tenant: 'globex', type: 'user.created', data: { userId: 'u-1' } },
];
const publisher = createPublisher(config, service.ctx.redis);
for (const e of events) {
  const entryId = await publishTo(publisher, e, config.maxEventBytes);
  say(`demo: published ${e.tenant} ${e.type} ${JSON.stringify(e.data)} as stream entry ${entryId}`);
}
say('demo: acme/orders only takes shipped/delivered orders (jsonata filter) and gets a transformed body;');
say('      acme/audit takes everything as the envelope; globex/all fails once with 500 and is retried.');

const shutdown = async (code: number) => {
  await service.stop();
  await new Promise<void>((r) => receiver.close(() => r()));
  process.exit(code);
};
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

if (once) {
  const timer = setTimeout(() => {
    say(`demo: only ${delivered} of ${EXPECTED} deliveries arrived in time`);
    void shutdown(1);
  }, 30_000);
  await done;
  clearTimeout(timer);
  say(`demo: all ${EXPECTED} deliveries arrived with valid signatures`);
  await shutdown(0);
} else {
  await done;
  say(`demo: all ${EXPECTED} deliveries arrived. The service keeps running: open the dashboard, publish more with`);
  say(`      npx wss publish --tenant acme --type order.shipped --data '{"orderId":"o-3","status":"delivered"}'`);
  say('      (in another terminal), Ctrl-C to stop.');
}
