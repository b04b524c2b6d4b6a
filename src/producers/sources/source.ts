// What the bridge needs from wherever events come from. The bridge loop (../bridge.ts) is the
// same for every source: take a batch, plan it (pure), give it fair-share priorities, commit it to
// Redis (jobs, tags, dead letters, delivery log, WAIT), and only then acknowledge it here. A
// source guarantees, whatever broker or table is behind it:
// - at least once: a message handed out and not acknowledged comes back (to this bridge or to
//   another one sharing the source) until it is acknowledged;
// - a delivery count per message: a message handed out WSS_MAX_ENTRY_DELIVERIES times without
//   being acknowledged (bridges died or hung on it) comes back flagged as poison, to be
//   dead-lettered unplanned;
// - a stable event id and creation time per message, so a redelivery plans the same job ids
//   (deterministic: the queue adds nothing twice).
import type { Readiness } from '../../roles.js';

export interface SourceMessage {
  /**
   * The source's own reference to the message (a stream entry id; queue and delivery tag; stream
   * sequence; table row id), unique among the messages in hand. Dead letters carry it as
   * `entryId`, logs as well.
   */
  id: string;
  /** The envelope's fields as text (tenant, type, data, id, priority, …); null: the message vanished while in hand (only to be acknowledged). */
  fields: Readonly<Record<string, string>> | null;
  /** The event id when the producer gave none. */
  defaultEventId: string;
  /** When the event was created (ms since the epoch). */
  createdAtMs: number;
  /**
   * Set when the source could not read the message as an envelope at all (a broker message whose
   * body is not a JSON object): why, never quoting it. The bridge dead-letters it as `malformed`
   * with `fields` (what the source kept of the body) and acknowledges it.
   */
  malformed?: string | undefined;
}

export interface SourceBatch {
  messages: SourceMessage[];
  /**
   * Set when every message of the batch is poison: delivered this many times (by message id)
   * without being acknowledged. The bridge dead-letters them without planning (planning them is
   * what may kill the process) and acknowledges them.
   */
  poison?: ReadonlyMap<string, number> | undefined;
}

/** Counters every source keeps (0 where a source has no such thing). */
export interface SourceStats {
  /** Messages taken over from other consumers (dead bridges' at once, hung ones' after a timeout). */
  claimed: number;
  /** Times the consumer state (a consumer group, a durable consumer, a queue) was found gone and re-created. */
  groupRecreated: number;
  /** Messages removed by the source's housekeeping (acknowledged stream entries past retention). */
  trimmed: number;
  /** The newest message reference acknowledged, in the source's own order. */
  lastHandledId: string | undefined;
}

/**
 * Messages the bridge holds back (../hold.ts): handed out, not acknowledged, kept in the bridge's
 * memory until their tenant's queue drains. A source that holds must not hand them out again.
 */
export interface HeldMessages {
  readonly size: number;
  has(id: string): boolean;
  /** The oldest held message's id. */
  readonly oldest: string | undefined;
}

export interface NextOptions {
  /** What the bridge holds: re-reads of the source's own unacknowledged messages skip them. */
  holding?: HeldMessages;
  /** Wait at most this long for new messages (less than WSS_BLOCK_MS while messages are held). */
  maxWaitMs?: number;
  /** Read up to this many times the usual count of new messages (reading ahead past a backlog). */
  scale?: number;
}

export interface Source {
  /** `redis-stream` (WSS_SOURCE): names the source in logs and metrics. */
  readonly kind: string;
  /**
   * True when the bridge may hold messages back (hold-back, WSS_HOLD_AFTER): the source lets it
   * keep many messages unacknowledged, reads on past them and keeps them from being taken over
   * (`keep`). Only the Redis Stream; brokers bound what is unacknowledged by their prefetch.
   */
  readonly holds: boolean;
  /** What is read, for logs and readiness: e.g. `stream wss:events (group wss-bridge)`. */
  readonly description: string;
  /** Connects and creates what is missing (a consumer group, a queue); the bridge starts after it. */
  start(): Promise<void>;
  /**
   * The next batch: re-deliveries first (own unacknowledged messages, messages of dead bridges),
   * then new ones. Waits a bounded time (WSS_BLOCK_MS) when there is nothing, then gives an
   * empty batch. Throws when the source fails; the bridge backs off and calls `recover`.
   * Sources that do not hold ignore `opts`.
   */
  next(opts?: NextOptions): Promise<SourceBatch>;
  /**
   * A batch whose planning or commit failed is handled again as it is: keep its messages ours
   * without counting a delivery (so a passing Redis outage does not push them towards the
   * poison bound); gives back those still ours (others may have been acknowledged elsewhere).
   */
  keep(batch: SourceBatch): Promise<SourceBatch>;
  /**
   * Sources that hold may let the bridge keep held messages by id only: this reads their fields
   * again (without counting a delivery); a message gone meanwhile comes back with null fields.
   */
  refetch?(messages: readonly SourceMessage[]): Promise<SourceMessage[]>;
  /** Everything the batch needs is in Redis: the source may forget these messages. */
  ack(batch: SourceBatch): Promise<void>;
  /**
   * After a failed step: repair what can be repaired (a consumer group deleted under us) and
   * rewind so that messages read but not acknowledged are read again. True when the messages in
   * hand are no longer ours (the group was re-created): the bridge drops its batch in hand and
   * the source delivers them again. Throws when repairing fails.
   */
  recover(err: unknown): Promise<boolean>;
  /** The source's own readiness (the bridge adds how long its steps have been failing). */
  ready(): Promise<Readiness>;
  stats(): Readonly<SourceStats>;
  /**
   * The ordering watermark (docs/ordering.md): a position (queue/ordering.ts) such that every
   * message below it has been acknowledged, so its jobs are committed. Absent: the source has no
   * such bound and ordered jobs are released as soon as they are committed.
   */
  watermark?(): Promise<string>;
  /** Ends a wait in `next` at once (stop). */
  interrupt(): void;
  /** Closes connections; a message in hand and not acknowledged comes back to another bridge. */
  close(): Promise<void>;
}

/**
 * The producer's side of a source: writes one event's envelope fields where the bridge reads
 * them (`wss publish`, `POST /api/events`, operational events). Fields arrive validated
 * (queue/publish.ts).
 */
export interface EventPublisher {
  /** Returns the source's reference to the message (a stream entry id), the event id when the fields carry none. */
  publish(fields: Readonly<Record<string, string>>): Promise<string>;
  /** Closes any connection of its own (none for the Redis Stream: it writes on the caller's). */
  close(): Promise<void>;
}

/**
 * Where replay (`wss replay`, `POST /api/replay`) reads a tenant's past events: the Redis
 * Stream (replay/stream-window.ts), or a source that keeps published messages (the PostgreSQL
 * outbox with WSS_OUTBOX_KEEP). Sources that keep nothing refuse (replay/history.ts).
 */
export interface ReplayHistory {
  /** Why a range starting at `fromMs` cannot be replayed in full (events of it are gone), or undefined. */
  refusal(fromMs: number): Promise<string | undefined>;
  /** The tenant's messages created in [fromMs, toMs], oldest first, at most `max` + 1 (one more says "over the cap"). */
  read(tenant: string, fromMs: number, toMs: number, max: number): Promise<SourceMessage[]>;
}
