// One NATS connection for the bridge or a publisher: credentials from WSS_NATS_URL passed as
// options (the client reads none from a URL), reconnecting for ever after the first success,
// and whether it is connected right now (readiness). Everything it logs or throws names the
// server as `shown` (config/nats.ts): never a password or a token.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NatsTarget } from '../../../config/nats.js';
import { errorMessage, WssError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';

/** The NATS server cannot be reached (at start, or right now while the client reconnects). */
export class NatsUnavailableError extends WssError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NATS_UNAVAILABLE', message, options);
  }
}

/** The durable consumer (or its stream) is gone, or does not answer pulls: recover() re-creates it. */
export class NatsConsumerGoneError extends WssError {
  constructor(message: string) {
    super('NATS_CONSUMER_GONE', message);
  }
}

/** `text` with the target's password and token replaced, whatever the client put in it. */
export function redact(text: string, target: NatsTarget): string {
  let out = text;
  for (const secret of [target.pass, target.token])
    if (secret !== undefined && secret.length > 0) out = out.split(secret).join('***');
  return out;
}

export interface NatsLink {
  nc: NatsConnection;
  /** False from a disconnect until the client has reconnected. */
  connected(): boolean;
  /** Drains (flushes what was published, ends subscriptions) within a bound, then closes. */
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 5_000;
const DRAIN_TIMEOUT_MS = 2_000;

export async function connectNats(target: NatsTarget, name: string, log: Logger): Promise<NatsLink> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: [...target.servers],
      name,
      ...(target.user !== undefined ? { user: target.user, pass: target.pass ?? '' } : {}),
      ...(target.token !== undefined ? { token: target.token } : {}),
      ...(target.tls ? { tls: {} } : {}),
      timeout: CONNECT_TIMEOUT_MS,
      // Once connected, never give up: the bridge reports not ready meanwhile.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (err) {
    throw new NatsUnavailableError(`NATS at ${target.shown}: ${redact(errorMessage(err), target)}`, { cause: err });
  }
  let up = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        if (up) log.warn({ nats: target.shown }, 'nats: disconnected; reconnecting');
        up = false;
      } else if (s.type === 'reconnect') {
        up = true;
        log.info({ nats: target.shown }, 'nats: reconnected');
      } else if (s.type === 'error') {
        log.warn({ nats: target.shown, err: redact(errorMessage(s.error), target) }, 'nats: connection error');
      }
    }
  })().catch(() => undefined);
  return {
    nc,
    connected: () => up && !nc.isClosed(),
    async close() {
      if (nc.isClosed()) return;
      let timer: NodeJS.Timeout | undefined;
      const drained = nc.drain().then(
        () => true,
        () => false,
      );
      const late = new Promise<boolean>((res) => (timer = setTimeout(() => res(false), DRAIN_TIMEOUT_MS)));
      const ok = await Promise.race([drained, late]);
      clearTimeout(timer);
      if (!ok) await nc.close().catch(() => undefined);
    },
  };
}
