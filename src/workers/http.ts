// The HTTP edge of delivery: one undici Agent (keep-alive pool) per worker process, POST only,
// redirects never followed, and the SSRF guard applied both to literal IPs (before any socket
// exists) and to every address DNS returns (inside the connector, so the address we check is
// the address we connect to: no rebinding window between check and connect). The host's own
// interface addresses are refused too (lib/own-addresses.ts).
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { DeliveryError, errorMessage } from '../lib/errors.js';
import { forbiddenAddressReason } from '../lib/ssrf.js';
import { ownAddresses } from '../lib/own-addresses.js';

/** Bytes of the response body kept for the dashboard. */
const SNIPPET_BYTES = 1024;
// Beyond this the rest of the body is not drained: destroying the socket is cheaper.
const DRAIN_LIMIT_BYTES = 64 * 1024;

export interface PostRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Any of these aborting aborts the request early (the worker's shutdown, the job's lock lost). */
  signals?: ReadonlyArray<AbortSignal | undefined> | undefined;
  /** The endpoint's `publicOnly`: the SSRF guard applies even with WSS_ALLOW_PRIVATE_URLS=true. */
  publicOnly?: boolean;
}

export interface PostResponse {
  status: number;
  retryAfter: string | undefined;
  snippet: string;
  ms: number;
}

export interface HttpSender {
  post(req: PostRequest): Promise<PostResponse>;
  close(): Promise<void>;
}

interface HttpSenderOptions {
  allowPrivateUrls: boolean;
  /** Sockets per origin. The worker passes its concurrency, so the pool never queues a request the worker could run. */
  connectionsPerOrigin?: number;
}

/** Raised inside the connector; mapped to URL_REFUSED, failed at once. */
class RefusedAddressError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const PRIVATE_HINT = 'set WSS_ALLOW_PRIVATE_URLS=true to allow';
/** For a publicOnly endpoint, which WSS_ALLOW_PRIVATE_URLS does not open. */
const PUBLIC_ONLY_HINT = 'this endpoint may reach public addresses only';

function refusal(address: string, why: string, hint = PRIVATE_HINT): string {
  return `refused: ${address} is ${why} (${hint})`;
}

/** The reason a URL's literal host is refused, or undefined (names are checked at connect time). */
export function literalHostRefusal(url: URL, hint = PRIVATE_HINT): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host) === 0) return undefined;
  const why = forbiddenAddressReason(host, ownAddresses());
  return why === undefined ? undefined : refusal(host, why, hint);
}

// net.connect calls this with { all: true } when it races address families (Node 20's
// autoSelectFamily), otherwise for a single address; both shapes are handled and every
// resolved address must be public, else the connection is refused outright.
const lookupGuard = (hint: string) =>
  ((
    hostname: string,
    options: LookupOptions,
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, options.all ? [] : '', 0);
      const own = ownAddresses();
      for (const a of addresses) {
        const why = forbiddenAddressReason(a.address, own);
        if (why !== undefined)
          return callback(
            new RefusedAddressError(refusal(`${hostname} (${a.address})`, why, hint)),
            options.all ? [] : '',
            0,
          );
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new Error(`no address for ${hostname}`), '', 0);
      callback(null, first.address, first.family);
    });
  }) as unknown as LookupFunction;
const guardedLookup = lookupGuard(PRIVATE_HINT);

function findCause<T>(err: unknown, test: (e: unknown) => e is T): T | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (test(e)) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);

/** Turns what undici/net threw into a DeliveryError whose message names no URL, header or body. */
function toDeliveryError(err: unknown, timedOut: boolean, timeoutMs: number, aborted: boolean): DeliveryError {
  const refused = findCause(err, (e): e is RefusedAddressError => e instanceof RefusedAddressError);
  if (refused) return new DeliveryError('URL_REFUSED', refused.reason, { outcome: 'failed' });
  const code = (
    findCause(err, (e): e is { code: string } => typeof (e as { code?: unknown }).code === 'string') ?? {
      code: undefined,
    }
  ).code;
  if (timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return new DeliveryError('TIMEOUT', `timed out after ${timeoutMs} ms${code ? ` (${code})` : ''}`, {
      outcome: 'retry',
    });
  }
  if (aborted) return new DeliveryError('NETWORK', 'aborted: worker shutting down', { outcome: 'retry' });
  // Node's own messages ("connect ECONNREFUSED 10.1.2.3:443") carry host and port at most.
  return new DeliveryError('NETWORK', `network error: ${code ? `${code} ` : ''}${errorMessage(err)}`.slice(0, 300), {
    outcome: 'retry',
  });
}

export function createHttpSender(opts: HttpSenderOptions): HttpSender {
  const agent = new Agent({
    connections: opts.connectionsPerOrigin ?? 32,
    keepAliveTimeout: 30_000,
    // One request per socket at a time: a slow response never blocks another delivery.
    pipelining: 1,
    connect: opts.allowPrivateUrls ? {} : { lookup: guardedLookup },
  });
  // With private URLs allowed, publicOnly endpoints (a tenant's, docs/portal.md) still go
  // through the guard, on a pool of their own made on first use.
  let guarded: Agent | undefined;
  const guardedAgent = () =>
    (guarded ??= new Agent({
      connections: opts.connectionsPerOrigin ?? 32,
      keepAliveTimeout: 30_000,
      pipelining: 1,
      connect: { lookup: lookupGuard(PUBLIC_ONLY_HINT) },
    }));

  async function post(req: PostRequest): Promise<PostResponse> {
    const url = new URL(req.url);
    const publicOnly = !opts.allowPrivateUrls || req.publicOnly === true;
    if (publicOnly) {
      const refused = literalHostRefusal(url, opts.allowPrivateUrls ? PUBLIC_ONLY_HINT : PRIVATE_HINT);
      if (refused !== undefined) throw new DeliveryError('URL_REFUSED', refused, { outcome: 'failed' });
    }
    // One controller and a cleared timer per request: AbortSignal.timeout keeps a timer and a
    // signal alive for the whole timeoutMs after the request ended, and AbortSignal.any on a
    // long-lived signal accumulates dependants (nodejs/node#55351).
    const ac = new AbortController();
    const timeout = { aborted: false };
    const timer = setTimeout(() => {
      timeout.aborted = true;
      ac.abort();
    }, req.timeoutMs);
    const onAbort = () => ac.abort();
    const outer = req.signals ?? [];
    for (const s of outer) {
      if (s?.aborted) ac.abort();
      else s?.addEventListener('abort', onAbort, { once: true });
    }
    const signal = ac.signal;
    const started = performance.now();
    try {
      const res = await request(url, {
        dispatcher: opts.allowPrivateUrls && req.publicOnly === true ? guardedAgent() : agent,
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
      // The status is the receiver's answer: a body that stalls or breaks after it must not
      // turn a delivered 2xx into a retry (and a duplicate delivery).
      const snippet = await readSnippet(res.body).catch((e: unknown) => {
        res.body.destroy();
        return `(response body not read: ${timeout.aborted ? `timed out after ${req.timeoutMs} ms` : errorMessage(e)})`.slice(
          0,
          200,
        );
      });
      const retryAfter = res.headers['retry-after'];
      return {
        status: res.statusCode,
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        snippet,
        ms: Math.round(performance.now() - started),
      };
    } catch (err) {
      throw toDeliveryError(
        err,
        timeout.aborted,
        req.timeoutMs,
        outer.some((s) => s?.aborted),
      );
    } finally {
      clearTimeout(timer);
      for (const s of outer) s?.removeEventListener('abort', onAbort);
    }
  }

  return {
    post,
    async close() {
      await Promise.all([agent.close(), guarded?.close()]);
    },
  };
}

/** Keeps the first SNIPPET_BYTES; drains a small rest (socket reusable), destroys a large one. */
async function readSnippet(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (keptBytes < SNIPPET_BYTES) {
      const part = chunk.subarray(0, SNIPPET_BYTES - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    if (seen > DRAIN_LIMIT_BYTES) {
      body.destroy();
      break;
    }
  }
  // A cut multi-byte character becomes U+FFFD; it is only a snippet.
  return Buffer.concat(kept).toString('utf8');
}
