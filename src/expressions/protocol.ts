// The messages between the expression pool (main thread) and its threads. Kept compact: one
// message per chunk of evaluations, inputs as JSON text (a string copies cheaply and cannot
// overflow the structured-clone serialiser the way a deeply nested object can).
import type { ExprFailure } from './failure.js';

interface ThreadLimits {
  /** jsonata's own per-evaluation deadline, checked at every step. */
  timeoutMs: number;
  /** jsonata's evaluation depth limit (D1011). */
  maxDepth: number;
  /** jsonata's sequence/range length limit (D2014/D2015). */
  maxSequence: number;
}

export interface ThreadData extends ThreadLimits {
  /**
   * Int32Array over a SharedArrayBuffer: [SEQ] counts evaluations started, [CURRENT] is the
   * evaluation in progress (task × 2 + stage) or IDLE. The pool's watchdog reads both without
   * a message, which is how it knows which evaluation to blame when it terminates the thread.
   */
  progress: SharedArrayBuffer;
}

export const SEQ = 0;
export const CURRENT = 1;
export const IDLE = -1;

/** Fields per task in ChunkRequest.tasks: filter expr, transform expr (-1: none), input, group. */
export const TASK_FIELDS = 4;

export interface ChunkRequest {
  id: number;
  exprs: string[];
  /** Envelopes as JSON text. */
  inputs: string[];
  tasks: Int32Array;
  /**
   * Per group (endpoint): failures in a row still allowed before the endpoint breaks; -1 is
   * unlimited. Once it reaches 0 the thread skips that group's remaining tasks.
   */
  budgets: Int32Array;
  /** What a success resets a limited budget to (WSS_EXPR_BREAK_AFTER). */
  breakAfter: number;
  /**
   * Characters of bodies a reply may hold: once the bodies made so far reach it, the thread
   * stops and sends the rest back unrun (Status.NotRun), so a burst of large bodies never piles
   * up in its heap. The first task of a request always runs.
   */
  maxBodyChars: number;
}

export const Status = {
  /** The filter did not yield true. */
  Dropped: 0,
  /** Passed, no transform: the envelope is the body. */
  Pass: 1,
  /** Passed; the transform's JSON is in `bodies`. */
  Body: 2,
  Failed: 3,
  /** Not evaluated: the endpoint broke earlier in this chunk. */
  Skipped: 4,
  /** Not evaluated: the reply already holds maxBodyChars of bodies; the pool sends it again. */
  NotRun: 5,
} as const;

export interface ChunkFailure extends ExprFailure {
  task: number;
  stage: 'filter' | 'transform';
}

export interface ChunkReply {
  id: number;
  status: Uint8Array;
  /** One per Status.Body task, in task order. */
  bodies: string[];
  failures: ChunkFailure[];
  /** The budgets after this reply's tasks, for the tasks sent again (NotRun). */
  budgets: Int32Array;
}
