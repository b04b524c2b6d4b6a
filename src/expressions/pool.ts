// Tenant filters and transforms run here, in worker threads with their own heap and stack
// limits, never on the caller's event loop. jsonata's guardrails stop most runaway expressions
// inside the thread; a watchdog terminates (and replaces) a thread stuck in one evaluation past
// the hard deadline, fails that one evaluation and re-runs the rest of its chunk elsewhere. A
// chunk is bounded in bytes as well as in tasks, and a heap exhausted by a chunk's total is not
// blamed on the evaluation that happened to be running (docs/expressions.md).
import { Worker } from 'node:worker_threads';
import type { Config } from '../config.js';
import type { Logger } from '../lib/log.js';
import { describeFailure, WSS_CODES, type ExprFailure } from './failure.js';
import { decodeChunk, encodeChunk, splitTasks, type ExprOutcome, type ExprTask } from './chunk.js';
import { CURRENT, IDLE, SEQ, type ChunkReply, type ChunkRequest, type ThreadData } from './protocol.js';
import type { ExpressionRunner } from './gate.js';

export type { ExprOutcome, ExprTask } from './chunk.js';

interface ExpressionPoolOptions {
  /** Most threads at once; they start on demand. */
  threads: number;
  /** Per evaluation (WSS_EXPR_TIMEOUT_MS). */
  timeoutMs: number;
  /** Old-generation heap per thread (WSS_EXPR_MEMORY_MB). */
  memoryMb: number;
  /** What a success resets a group's budget to (WSS_EXPR_BREAK_AFTER). */
  breakAfter?: number;
  maxDepth?: number;
  maxSequence?: number;
  /** Tasks per message: bounds the work re-run when a thread is terminated. */
  chunkSize?: number;
  /**
   * Characters of envelopes per message, and of bodies per reply (the rest of the chunk is sent
   * again): what a chunk holds in a thread's heap at once. Default: 1/8 of memoryMb (8 MB at 64).
   */
  chunkChars?: number;
  log?: Logger;
}

const EXPR_DEFAULTS = Object.freeze({ maxDepth: 500, maxSequence: 1_000_000, chunkSize: 512, stackSizeMb: 4 });

interface Slot {
  worker: Worker;
  progress: Int32Array;
  pending: ((r: Settled) => void) | undefined;
  lastSeq: number;
  seenAt: number;
}

type Settled = { reply: ChunkReply } | { offender: number; code: string } | { error: Error };

// Node cannot load TypeScript: under vitest this module runs from src/, so the thread comes
// from the build (npm test builds first). From dist/ it is the sibling file.
function threadEntry(): URL {
  const own = new URL(import.meta.url);
  return own.pathname.endsWith('.ts') ? new URL('../../dist/expressions/thread.js', own) : new URL('./thread.js', own);
}

export class ExpressionPool implements ExpressionRunner {
  private readonly slots: Slot[] = [];
  private readonly idle: Slot[] = [];
  private readonly waiting: Array<(s: Slot) => void> = [];
  private watchdog: NodeJS.Timeout | undefined;
  private closed = false;
  private nextId = 0;
  private readonly opts: Required<Omit<ExpressionPoolOptions, 'log'>> & { log: Logger | undefined };
  private readonly tickMs: number;
  /** Threads terminated for overrunning or exhausting their heap. */
  terminated = 0;

  constructor(options: ExpressionPoolOptions) {
    const chunkChars = Math.max(65_536, Math.floor((options.memoryMb * 1_048_576) / 8));
    this.opts = { breakAfter: 0, chunkChars, ...EXPR_DEFAULTS, ...options, log: options.log };
    this.tickMs = Math.max(5, Math.round(this.opts.timeoutMs / 4));
  }

  /** Evaluates every task; outcomes in task order. `budgets`: failures in a row allowed per group, -1 unlimited. */
  async run(
    inputs: readonly string[],
    tasks: readonly ExprTask[],
    budgets: readonly number[] = [],
  ): Promise<ExprOutcome[]> {
    const out: ExprOutcome[] = new Array<ExprOutcome>(tasks.length);
    const { chunkSize, chunkChars } = this.opts;
    await Promise.all(
      splitTasks(inputs, tasks, chunkSize, chunkChars).map((idx) =>
        this.runChunk(inputs, tasks, idx, Int32Array.from(budgets), out),
      ),
    );
    return out;
  }

  private async runChunk(
    inputs: readonly string[],
    tasks: readonly ExprTask[],
    idx: number[],
    budgets: Int32Array,
    out: ExprOutcome[],
    confirm = true,
  ): Promise<void> {
    let rest = idx;
    // Out of heap while the thread held earlier results of the request: run alone before blaming.
    const heapSuspects: number[] = [];
    // After such a heap exhaustion, fewer tasks per message than had run when it happened.
    let perRequest = Infinity;
    while (rest.length > 0) {
      const sent = rest.length > perRequest ? rest.slice(0, perRequest) : rest;
      const { breakAfter, chunkChars } = this.opts;
      const settled = await this.send(encodeChunk(++this.nextId, inputs, tasks, sent, budgets, breakAfter, chunkChars));
      if ('error' in settled) throw settled.error;
      if ('reply' in settled) {
        // A reply that reached its bodies' bound sends the rest back: they go in a new message.
        rest = [...decodeChunk(settled.reply, sent, out), ...rest.slice(sent.length)];
        budgets.set(settled.reply.budgets.subarray(0, budgets.length));
        continue;
      }
      const t = settled.offender >> 1;
      const g = sent[t]!;
      // The others run again (their results went with the thread).
      rest = rest.filter((x) => x !== g);
      if (settled.code === WSS_CODES.heap && t > 0) {
        // The heap held the request's envelopes and the bodies made before this evaluation: the
        // chunk's total may be to blame, not this evaluation. Nothing is counted yet.
        heapSuspects.push(g);
        perRequest = Math.max(1, Math.floor(t / 2));
        this.opts.log?.warn(
          { heldBefore: t, rerun: rest.length, perRequest },
          'expressions: thread out of heap during a chunk; the evaluation in hand runs again alone before it is blamed',
        );
        continue;
      }
      // One evaluation took the thread down: it alone fails.
      const failure: ExprFailure = { kind: settled.code === WSS_CODES.heap ? 'memory' : 'timeout', code: settled.code };
      out[g] = { status: 'failed', stage: (settled.offender & 1) === 1 ? 'transform' : 'filter', failure };
      const group = tasks[g]!.group;
      if (budgets[group]! > 0) budgets[group]!--;
      this.opts.log?.warn(
        { reason: describeFailure(failure), rerun: rest.length },
        'expressions: thread terminated; re-running the rest of its chunk',
      );
    }
    // Alone, an evaluation that still exhausts the heap is blamed (and counted) as usual.
    await Promise.all(heapSuspects.map((g) => this.runChunk(inputs, tasks, [g], budgets, out, confirm)));
    // Deadlines are wall-clock: on a busy machine a thread can lose the CPU long enough for an
    // innocent evaluation to time out. A timeout counts only if a second run, alone, agrees.
    const suspects = confirm
      ? idx.filter((g) => {
          const o = out[g];
          return o?.status === 'failed' && o.failure.kind === 'timeout';
        })
      : [];
    // Already counted against their budgets: the second run skips nothing.
    if (suspects.length > 0)
      await this.runChunk(
        inputs,
        tasks,
        suspects,
        budgets.map(() => -1),
        out,
        false,
      );
  }

  private async send(req: ChunkRequest): Promise<Settled> {
    const slot = await this.acquire();
    const settled = await new Promise<Settled>((resolve) => {
      slot.pending = resolve;
      slot.lastSeq = Atomics.load(slot.progress, SEQ);
      slot.seenAt = performance.now();
      slot.worker.ref();
      this.armWatchdog();
      slot.worker.postMessage(req);
    });
    slot.pending = undefined;
    if ('reply' in settled) this.release(slot);
    return settled;
  }

  private acquire(): Promise<Slot> {
    if (this.closed) return Promise.reject(new Error('expression pool is closed'));
    const free = this.idle.pop();
    if (free) return Promise.resolve(free);
    if (this.slots.length < this.opts.threads) return Promise.resolve(this.spawn());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: Slot): void {
    slot.worker.unref();
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.idle.push(slot);
  }

  private spawn(): Slot {
    const progress = new Int32Array(new SharedArrayBuffer(8));
    Atomics.store(progress, CURRENT, IDLE);
    const data: ThreadData = {
      progress: progress.buffer as SharedArrayBuffer,
      timeoutMs: this.opts.timeoutMs,
      maxDepth: this.opts.maxDepth,
      maxSequence: this.opts.maxSequence,
    };
    const worker = new Worker(threadEntry(), {
      workerData: data,
      resourceLimits: {
        maxOldGenerationSizeMb: this.opts.memoryMb,
        maxYoungGenerationSizeMb: Math.max(4, Math.min(16, Math.floor(this.opts.memoryMb / 4))),
        stackSizeMb: EXPR_DEFAULTS.stackSizeMb,
      },
    });
    worker.unref();
    const slot: Slot = { worker, progress, pending: undefined, lastSeq: 0, seenAt: 0 };
    worker.on('message', (reply: ChunkReply) => slot.pending?.({ reply }));
    worker.on('error', (err: Error & { code?: string }) =>
      this.lost(slot, err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? WSS_CODES.heap : WSS_CODES.other, err),
    );
    worker.on('exit', () => this.lost(slot, WSS_CODES.other, new Error('expression thread exited')));
    this.slots.push(slot);
    return slot;
  }

  /** The thread is gone (terminated by us, out of heap, or crashed): blame the evaluation in hand. */
  private lost(slot: Slot, code: string, err: Error, current = Atomics.load(slot.progress, CURRENT)): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    const j = this.idle.indexOf(slot);
    if (j >= 0) this.idle.splice(j, 1);
    const pending = slot.pending;
    slot.pending = undefined;
    if (pending) {
      if (current === IDLE)
        pending({ error: new Error(`expression thread failed outside any evaluation: ${err.message}`) });
      else pending({ offender: current, code });
    }
    if (code !== WSS_CODES.killed) void slot.worker.terminate();
    // A replacement starts on demand; give a waiting chunk its chance now.
    const next = this.waiting.shift();
    if (next && !this.closed) next(this.spawn());
  }

  private armWatchdog(): void {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => this.check(), this.tickMs);
    this.watchdog.unref();
  }

  private check(): void {
    const now = performance.now();
    let busy = false;
    for (const slot of [...this.slots]) {
      if (!slot.pending) continue;
      busy = true;
      const seq = Atomics.load(slot.progress, SEQ);
      const current = Atomics.load(slot.progress, CURRENT);
      if (seq !== slot.lastSeq || current === IDLE) {
        slot.lastSeq = seq;
        slot.seenAt = now;
      } else if (now - slot.seenAt >= 2 * this.opts.timeoutMs) {
        // jsonata's own deadline (checked between steps) did not fire in time: the thread is
        // stuck inside one step, such as a regex match.
        this.terminated++;
        void slot.worker.terminate();
        this.lost(slot, WSS_CODES.killed, new Error('terminated'), current);
      }
    }
    if (!busy) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    const slots = this.slots.splice(0);
    this.idle.length = 0;
    for (const s of slots) s.pending?.({ error: new Error('expression pool is closed') });
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

/** The pool of the WSS_EXPR_* settings: the bridge's, the dashboard's, recover's and the trial's. */
export function createExpressionPool(config: Pick<Config, 'expr'>, log?: Logger): ExpressionPool {
  const { threads, timeoutMs, memoryMb, breakAfter } = config.expr;
  return new ExpressionPool({ threads, timeoutMs, memoryMb, breakAfter, ...(log ? { log } : {}) });
}
