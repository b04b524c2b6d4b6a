// The PostgreSQL outbox source (WSS_SOURCE=postgres-outbox): the application inserts one row
// per event in its own transaction, so an event exists exactly when the data it describes was
// committed; the bridge claims rows (claim.ts), commits them to Redis, then deletes them (or sets
// published_at, WSS_OUTBOX_KEEP) in the transaction that held them. Guarantees:
// - at least once: a row leaves the table (or gets published_at) only in the acknowledgement;
//   a bridge that dies or loses its connection holding rows has its transaction rolled back by
//   the server, and the rows are claimed again (by any bridge);
// - the attempts column counts deliveries, committed before the rows are handled; a row at
//   WSS_MAX_ENTRY_DELIVERIES comes back flagged as poison;
// - the event id is the row's `id`, else `<table>.<row id>.<created_at ms>` (sql.ts), the same
//   at every delivery, so a row claimed again adds no job twice;
// - an idle bridge is woken by NOTIFY (listener.ts) and polls every WSS_OUTBOX_POLL_MS;
// - the database going away: every step throws (the bridge backs off and retries), the next
//   step reconnects, readiness says the database does not answer.
import type pg from 'pg';
import { describePgUrl } from '../../../config/outbox-parsers.js';
import type { Logger } from '../../../lib/log.js';
import { PROBE_TIMEOUT_MS, withTimeout } from '../../../lib/timeout.js';
import type { Readiness } from '../../../roles.js';
import type { Source, SourceBatch, SourceStats } from '../source.js';
import { claimRows } from './claim.js';
import { connectClient, destroyClient, OutboxUnavailableError, query, unavailable } from './connect.js';
import { OutboxListener } from './listener.js';
import { checkTable } from './table.js';
import { outboxNames, outboxStatements, rowIdOf, rowRef, type OutboxNames } from './sql.js';
import type { OutboxTableName } from '../../../config/outbox-parsers.js';

/** How often published rows past WSS_OUTBOX_RETENTION are deleted, and how many at most each time. */
const PURGE_INTERVAL_MS = 60_000;
const PURGE_ROWS = 10_000;

export interface OutboxOptions {
  url: string;
  table: OutboxTableName;
  keep: boolean;
  retentionMs: number;
  pollMs: number;
  batchSize: number;
  maxEntryDeliveries: number;
}

export class PostgresOutboxSource implements Source {
  readonly kind = 'postgres-outbox';
  readonly holds = false;
  readonly description: string;
  private readonly names: OutboxNames;
  private sql: ReturnType<typeof outboxStatements>;
  private readonly listener: OutboxListener;
  /** The connection claims and acknowledgements run on; undefined until (re)connected. */
  private client: pg.Client | undefined;
  /** The open transaction holding the batch in hand: its rows, by id. */
  private held: { client: pg.Client; rowIds: Set<string> } | undefined;
  private readonly counters: SourceStats = { claimed: 0, groupRecreated: 0, trimmed: 0, lastHandledId: undefined };
  private lastRowId = -1n;
  private nextPurgeAt = 0;
  /** A notification came since the last claim started: do not wait. */
  private woken = false;
  private waiter: (() => void) | undefined;
  private closed = false;
  /** interrupt() or close(): the bridge is stopping. */
  private stopping = false;

  constructor(
    private readonly o: OutboxOptions,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.names = outboxNames(o.table);
    this.sql = outboxStatements(this.names);
    this.description = `outbox ${o.table.text} on ${describePgUrl(o.url)}`;
    this.listener = new OutboxListener(o.url, this.names.channel, log, () => this.wake());
  }

  /**
   * Checks the table (missing, other columns, no right to change it: start-up stops with what to
   * do). A database that does not answer yet is not an error: the bridge starts, reports not
   * ready and keeps trying.
   */
  async start(): Promise<void> {
    try {
      const { trigger, traced } = await checkTable(await this.connection(), this.names, this.sql, this.o.url);
      // Rows carry their trace context when the table has the columns (docs/observability.md).
      if (traced) this.sql = outboxStatements(this.names, { traced });
      if (!trigger)
        this.log.warn(
          { table: this.names.text, pollMs: this.o.pollMs },
          'bridge: the outbox table has no notify trigger: new rows are found by polling only (`wss outbox init` adds it)',
        );
    } catch (err) {
      if (this.client) this.drop(this.client);
      if (!(err instanceof OutboxUnavailableError)) throw err;
      this.log.warn({ err: err.message }, 'bridge: the outbox database does not answer yet; retrying');
    }
    await this.listener.start();
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    // Declared first: the callback may run before connectClient returns (a failed connect).
    let client: pg.Client | undefined = undefined;
    client = await connectClient(this.o.url, 'outbox-bridge', (err) => {
      if (client === undefined) return;
      if (this.client === client) this.client = undefined;
      if (this.held?.client === client) this.held = undefined;
      if (err && !this.closed) this.log.debug({ err: err.message }, 'bridge: outbox connection lost');
    });
    this.client = client;
    return client;
  }

  /** Runs `fn` on the connection; any failure drops it (its transaction and locks with it). */
  private async onConnection<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = await this.connection();
    try {
      return await fn(c);
    } catch (err) {
      this.drop(c);
      throw err instanceof OutboxUnavailableError ? err : unavailable(this.o.url, err);
    }
  }

  private drop(c: pg.Client): void {
    if (this.client === c) this.client = undefined;
    if (this.held?.client === c) this.held = undefined;
    destroyClient(c);
  }

  async next(): Promise<SourceBatch> {
    // Stopping: claim nothing more (a claim counts a delivery that would not happen).
    if (this.stopping) return { messages: [] };
    const first = await this.claim();
    if (first.messages.length > 0) return first;
    await this.idle(this.o.pollMs);
    return this.stopping ? first : this.claim();
  }

  private async claim(): Promise<SourceBatch> {
    if (this.held) {
      // Not expected (the bridge acknowledges or keeps what it holds); never hold two batches.
      this.log.warn('bridge: an outbox batch was still held when the next was asked for; it goes back');
      this.drop(this.held.client);
    }
    this.woken = false;
    if (this.o.keep && this.o.retentionMs > 0 && this.now() >= this.nextPurgeAt) await this.purge();
    return this.onConnection(async (c) => {
      const claimed = await claimRows(c, {
        names: this.names,
        sql: this.sql,
        batchSize: this.o.batchSize,
        maxDeliveries: this.o.maxEntryDeliveries,
      });
      if (!claimed) return { messages: [] };
      this.held = { client: c, rowIds: new Set(claimed.rowIds) };
      if (claimed.retaken > 0) {
        this.counters.claimed += claimed.retaken;
        this.log.info(
          { count: claimed.retaken, poison: claimed.batch.poison !== undefined },
          'bridge: claimed outbox rows delivered before and never acknowledged',
        );
      }
      return claimed.batch;
    });
  }

  /** Deletes published rows past WSS_OUTBOX_RETENTION (WSS_OUTBOX_KEEP only). */
  private async purge(): Promise<void> {
    this.nextPurgeAt = this.now() + PURGE_INTERVAL_MS;
    const removed = await this.onConnection(async (c) => {
      const r = await c.query(this.sql.purge, [this.o.retentionMs, PURGE_ROWS]);
      return r.rowCount ?? 0;
    });
    this.counters.trimmed += removed;
    if (removed > 0) this.log.debug({ removed }, 'bridge: deleted published outbox rows past the retention');
  }

  /** Until a notification, interrupt() or `ms`. */
  private idle(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiter = done;
    });
  }

  private wake(): void {
    this.woken = true;
    this.waiter?.();
  }

  async keep(batch: SourceBatch): Promise<SourceBatch> {
    // The rows stay locked by the open transaction: nothing to do, no delivery counted. When the
    // connection is gone the server rolled it back and the rows are someone else's.
    const held = this.held;
    if (!held) return { messages: [] };
    return { ...batch, messages: batch.messages.filter((m) => held.rowIds.has(rowIdOf(m.id))) };
  }

  async ack(batch: SourceBatch): Promise<void> {
    const held = this.held;
    if (batch.messages.length === 0) return;
    if (!held)
      throw new OutboxUnavailableError('outbox: the transaction holding the batch is gone; it is claimed again');
    const ids = batch.messages.map((m) => rowIdOf(m.id));
    await this.onConnection(async (c) => {
      if (c !== held.client) throw new Error('outbox: the transaction holding the batch is gone');
      await query(c, this.o.keep ? this.sql.ackKeep : this.sql.ackDelete, [ids]);
      await query(c, 'COMMIT');
    });
    this.held = undefined;
    for (const id of ids) {
      const n = BigInt(id);
      if (n > this.lastRowId) this.lastRowId = n;
    }
    this.counters.lastHandledId = rowRef(this.names.text, String(this.lastRowId));
  }

  /** True when the batch in hand is no longer held (its transaction is gone): it is claimed again. */
  async recover(_err: unknown): Promise<boolean> {
    const held = this.held;
    if (!held) return true;
    try {
      // The failure may have been Redis's alone: the transaction is still open and ours.
      await withTimeout(query(held.client, 'SELECT 1'), PROBE_TIMEOUT_MS, 'postgres');
      return false;
    } catch {
      this.drop(held.client);
      return true;
    }
  }

  async ready(): Promise<Readiness> {
    const why = await this.listener.probe();
    if (why !== undefined) return { ok: false, detail: `postgres ${describePgUrl(this.o.url)}: ${why}` };
    return { ok: true, detail: `reading ${this.description}` };
  }

  stats(): Readonly<SourceStats> {
    return { ...this.counters };
  }

  interrupt(): void {
    this.stopping = true;
    this.waiter?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopping = true;
    this.waiter?.();
    this.listener.close();
    // A batch still held goes back: the server rolls its transaction back.
    if (this.client) this.drop(this.client);
  }
}
