// The bench's webhook receiver, run in its own process (fork) so its CPU is not the bench's:
// node:http, 200 OK with an empty body, keep-alive. It counts requests per listener label
// and distinct deliveries (event id × port × path),
// keeps first/last arrival times and, for event ids of the form `L<sent wall-clock ms>-<n>`,
// the end-to-end latency. Driven over IPC: listen, reset, stats, close.
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';

const servers = [];
const groups = new Map();
const wallNow = () => performance.timeOrigin + performance.now();
const SENT_AT = /^L(\d+(?:\.\d+)?)-/;

function group(label) {
  let g = groups.get(label);
  if (!g) {
    g = { requests: 0, ids: new Set(), firstAt: undefined, lastAt: undefined, latencies: [] };
    groups.set(label, g);
  }
  return g;
}

function listen(label, delayMs) {
  const server = createServer((req, res) => {
    const at = wallNow();
    const g = group(label);
    g.requests++;
    g.firstAt ??= at;
    g.lastAt = at;
    const id = req.headers['x-wss-event-id'];
    if (typeof id === 'string') {
      // One event fans out to many endpoints: a delivery is an event id at a port and path.
      g.ids.add(`${req.socket.localPort}${req.url}#${id}`);
      const sent = SENT_AT.exec(id);
      if (sent) g.latencies.push(at - Number(sent[1]));
    }
    req.resume();
    req.on('end', () => {
      const send = () => {
        if (!res.destroyed) res.writeHead(200, { 'content-length': '0' }).end();
      };
      if (delayMs > 0) setTimeout(send, delayMs);
      else send();
    });
  });
  // Longer than undici's idle sockets live, so the sender decides when a socket closes.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

function stats(withLatencies) {
  const out = {};
  for (const [label, g] of groups) {
    out[label] = {
      requests: g.requests,
      distinct: g.ids.size,
      firstAt: g.firstAt,
      lastAt: g.lastAt,
      ...(withLatencies ? { latencies: g.latencies } : {}),
    };
  }
  return out;
}

process.on('message', async (msg) => {
  let reply;
  try {
    switch (msg.cmd) {
      case 'listen': {
        const ports = [];
        for (let i = 0; i < (msg.count ?? 1); i++) ports.push(await listen(msg.label, msg.delayMs ?? 0));
        reply = { ports };
        break;
      }
      case 'reset':
        groups.clear();
        reply = {};
        break;
      case 'stats':
        reply = { groups: stats(Boolean(msg.latencies)) };
        break;
      case 'close':
        for (const s of servers.splice(0)) {
          s.closeAllConnections();
          s.close();
        }
        reply = {};
        break;
      default:
        reply = { error: `unknown command ${msg.cmd}` };
    }
  } catch (err) {
    reply = { error: err.message };
  }
  process.send({ ...reply, reqId: msg.reqId });
  if (msg.cmd === 'close') process.disconnect();
});
process.on('disconnect', () => process.exit(0));
