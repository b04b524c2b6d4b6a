// Claiming outbox rows, crash-safe. A claim is two transactions on the bridge's connection:
//  1. the claim: unpublished rows no one holds (FOR UPDATE SKIP LOCKED, row id order), the
//     next chunk chosen by their attempts (the Redis source's rule, redis-stream/pending.ts),
//     `attempts + 1` on that chunk, COMMIT. The delivery is counted, durably, before anything
//     is done with the rows: a bridge killed while handling them cannot lose the count (an
//     increment inside the transaction that handles the rows would be rolled back with it, and
//     a row that kills every bridge would never reach the poison bound);
//  2. the hold: the same rows locked again (FOR UPDATE) in a transaction left open while the
//     bridge commits them to Redis; the acknowledgement deletes them (or sets published_at) and
//     commits it. A bridge that dies meanwhile loses its connection, the server rolls the hold
//     back, and the rows are claimable again (with their count already raised).
// Between 1 and 2 the rows are unlocked for a moment, so claims are serialised by an advisory
// lock (one bridge at a time claims; each claim takes milliseconds). Without it another bridge
// could count a delivery of rows it then fails to lock, and concurrent claims woken by one
// NOTIFY would push healthy rows towards the poison bound.
import type pg from 'pg';
import { nextChunk } from '../redis-stream/pending.js';
import type { SourceBatch } from '../source.js';
import { LOCK_TIMEOUT_MS, query } from './connect.js';
import { rowMessage, rowRef, type OutboxNames, type OutboxRow, type OutboxStatements } from './sql.js';

export interface ClaimOptions {
  names: OutboxNames;
  sql: OutboxStatements;
  batchSize: number;
  maxDeliveries: number;
}

export interface Claimed {
  batch: SourceBatch;
  /** Row ids held by the open transaction (for the acknowledgement). */
  rowIds: string[];
  /** Rows delivered before (taken over from a bridge that died or failed). */
  retaken: number;
}

interface Candidate {
  row_id: string;
  attempts: number;
  /** Deliveries before this one: the attempts column before the claim. */
  deliveries: number;
}

/**
 * Claims the next chunk and leaves its rows locked in an open transaction on `client`, or
 * returns undefined (nothing to claim; no transaction open). Any error leaves the connection in
 * an unknown state: the caller destroys it, which releases every lock.
 */
export async function claimRows(client: pg.Client, o: ClaimOptions): Promise<Claimed | undefined> {
  const { sql, names } = o;
  // On an error below the lock stays taken: the caller destroys the connection, which frees it.
  await query(client, sql.claimLock, [names.lockName]).catch((err: unknown) => {
    // lock_timeout (connect.ts): the holder should have let go within milliseconds.
    if ((err as { code?: unknown }).code !== '55P03') throw err;
    throw new Error(
      `another bridge has held the claim lock of outbox ${names.text} for over ${LOCK_TIMEOUT_MS / 1000} s (a bridge frozen mid-claim?); trying again`,
    );
  });
  const unlock = () => query(client, sql.claimUnlock, [names.lockName]);
  await query(client, 'BEGIN');
  const rows = await query<{ row_id: string; attempts: number }>(client, sql.candidates, [o.batchSize]);
  const chunk = nextChunk<Candidate>(
    rows.map((r) => ({ ...r, deliveries: r.attempts })),
    o.maxDeliveries,
  );
  if (chunk) await query(client, sql.bump, [chunk.entries.map((c) => c.row_id)]);
  // Releases the rows not chosen; the chosen ones carry their raised count from here on.
  await query(client, 'COMMIT');
  if (!chunk) {
    await unlock();
    return undefined;
  }
  const deliveries = new Map(chunk.entries.map((c) => [rowRef(names.text, c.row_id), c.deliveries]));
  await query(client, 'BEGIN');
  const held = await query<OutboxRow>(client, sql.lock, [chunk.entries.map((c) => c.row_id)]);
  await unlock();
  if (held.length === 0) {
    await query(client, 'ROLLBACK');
    return undefined;
  }
  const messages = held.map((r) => rowMessage(names.text, r));
  return {
    batch: { messages, poison: chunk.poison ? deliveries : undefined },
    rowIds: held.map((r) => r.row_id),
    retaken: messages.filter((m) => (deliveries.get(m.id) ?? 0) > 0).length,
  };
}
