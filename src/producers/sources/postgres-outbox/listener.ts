// The LISTEN connection: wakes an idle bridge when rows are inserted (the trigger `wss outbox
// init` creates sends a NOTIFY when the inserting transaction commits), and tells readiness
// whether the database answers. It reconnects by itself, with a growing delay, for as long as
// the source runs; after every reconnection it wakes the bridge once, since notifications sent
// while it was away are lost. Polling (WSS_OUTBOX_POLL_MS) covers the time it is down.
import type pg from 'pg';
import { describePgUrl } from '../../../config/outbox-parsers.js';
import { errorMessage } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { PROBE_TIMEOUT_MS, withTimeout } from '../../../lib/timeout.js';
import { connectClient, destroyClient } from './connect.js';
import { quoteIdent } from './sql.js';

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

export class OutboxListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retryMs = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Why the connection is down (for readiness); undefined while connected. */
  private lastError: string | undefined = 'not connected yet';

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly log: Logger,
    private readonly wake: () => void,
  ) {}

  /** Connects (or starts retrying); never throws. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    let client: pg.Client | undefined;
    try {
      client = await connectClient(this.url, 'outbox-listen', (err) => this.lost(client, err));
      client.on('notification', () => this.wake());
      await withTimeout(client.query(`LISTEN ${quoteIdent(this.channel)}`), PROBE_TIMEOUT_MS * 5, 'LISTEN');
    } catch (err) {
      if (client) destroyClient(client);
      this.lastError = errorMessage(err);
      this.retry();
      return;
    }
    if (this.closed) return void destroyClient(client);
    const wasDown = this.retryMs > 0;
    this.client = client;
    this.lastError = undefined;
    this.retryMs = 0;
    if (wasDown) this.log.info({ channel: this.channel }, 'bridge: outbox LISTEN connection is back');
    // Rows inserted while it was away sent notifications nobody heard.
    this.wake();
  }

  private lost(client: pg.Client | undefined, err?: Error): void {
    if (client === undefined || this.client !== client) return;
    this.client = undefined;
    this.lastError = err ? errorMessage(err) : 'connection ended';
    if (this.closed) return;
    this.log.warn(
      { err: this.lastError, db: describePgUrl(this.url) },
      'bridge: outbox LISTEN connection lost; reconnecting (polling meanwhile)',
    );
    this.retry();
  }

  private retry(): void {
    if (this.closed || this.timer) return;
    this.retryMs = Math.min(Math.max(RETRY_MIN_MS, this.retryMs * 2), RETRY_MAX_MS);
    this.timer = setTimeout(() => void this.connect(), this.retryMs);
    this.timer.unref();
  }

  /** Undefined when the database answers on this connection; else why not. */
  async probe(): Promise<string | undefined> {
    const c = this.client;
    if (!c) return this.lastError ?? 'not connected';
    try {
      await withTimeout(c.query('SELECT 1'), PROBE_TIMEOUT_MS, 'postgres');
      return undefined;
    } catch (err) {
      return errorMessage(err);
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.client) destroyClient(this.client);
    this.client = undefined;
  }
}
