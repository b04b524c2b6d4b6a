// Connections to the outbox's database (client `pg`), made alike everywhere: bounded connect,
// server-side timeouts, TCP keepalive, and errors that name the database without its password.
// A connection that stops answering is destroyed rather than ended (ending waits on the server).
import pg from 'pg';
import { describePgUrl } from '../../../config/outbox-parsers.js';
import { errorMessage, WssError } from '../../../lib/errors.js';
import { withTimeout } from '../../../lib/timeout.js';

/** The outbox's database could not be reached, or refused what the source needs. */
export class OutboxUnavailableError extends WssError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OUTBOX_UNAVAILABLE', message, options);
  }
}

/** The outbox table is missing or not as `wss outbox init` makes it. */
export class OutboxTableError extends WssError {
  constructor(message: string) {
    super('OUTBOX_TABLE', message);
  }
}

const CONNECT_TIMEOUT_MS = 5_000;
/** Any one statement of the bridge's; a claim or an acknowledgement takes milliseconds. */
const STATEMENT_TIMEOUT_MS = 30_000;
/** The wait for the claim lock (claim.ts): another bridge holds it for milliseconds. */
export const LOCK_TIMEOUT_MS = 10_000;
/** Past this a query is taken for a hung server and its connection destroyed. */
export const QUERY_WATCHDOG_MS = 45_000;

/** The options every connection shares; `name` shows in pg_stat_activity as `wss-<name>`. */
export function clientConfig(url: string, name: string): pg.ClientConfig {
  return {
    connectionString: url,
    application_name: `wss-${name}`,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    lock_timeout: LOCK_TIMEOUT_MS,
  };
}

/** `postgres <url without password>: <what happened>`. */
export function unavailable(url: string, err: unknown): OutboxUnavailableError {
  return new OutboxUnavailableError(`postgres ${describePgUrl(url)}: ${errorMessage(err)}`, { cause: err });
}

/**
 * A connected client. `onGone` runs once when the connection fails or ends, whatever the
 * cause (the caller then forgets it); errors go there instead of crashing the process.
 */
export async function connectClient(url: string, name: string, onGone: (err?: Error) => void): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(url, name));
  let gone = false;
  const goneOnce = (err?: Error) => {
    if (gone) return;
    gone = true;
    onGone(err);
  };
  client.on('error', goneOnce);
  client.on('end', () => goneOnce());
  try {
    await client.connect();
  } catch (err) {
    destroyClient(client);
    throw unavailable(url, err);
  }
  return client;
}

/** Drops the connection at once: the server rolls back its transaction and frees its locks. */
export function destroyClient(client: pg.Client): void {
  client.connection.stream.destroy();
}

/** client.query, bounded by QUERY_WATCHDOG_MS (then the connection is destroyed). */
export async function query<R extends pg.QueryResultRow>(
  client: pg.Client,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  try {
    return (await withTimeout(client.query<R>(text, values), QUERY_WATCHDOG_MS, 'postgres query')).rows;
  } catch (err) {
    if (err instanceof Error && /postgres query timed out/.test(err.message)) destroyClient(client);
    throw err;
  }
}
