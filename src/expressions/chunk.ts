// Packing a chunk of tasks into one thread message and unpacking the reply: each chunk carries
// only the expressions and envelopes its tasks use, and tasks travel as an Int32Array. A chunk
// is bounded by its count of tasks and by the characters of its envelopes (splitTasks); the
// bodies of its reply are bounded by maxBodyChars (protocol.ts).
import type { ExprFailure } from './failure.js';
import { Status, TASK_FIELDS, type ChunkReply, type ChunkRequest } from './protocol.js';

export interface ExprTask {
  filter: string | undefined;
  transform: string | undefined;
  /** Index into the inputs (envelopes as JSON text) given to run(). */
  input: number;
  /** Index into the budgets given to run() (one per endpoint). */
  group: number;
}

export type ExprOutcome =
  | { status: 'dropped' }
  | { status: 'pass' }
  | { status: 'body'; body: string }
  | { status: 'failed'; stage: 'filter' | 'transform'; failure: ExprFailure }
  /** Not evaluated: its group's budget of failures in a row ran out. */
  | { status: 'skipped' };

/**
 * The tasks cut into chunks in order: at most `maxCount` tasks each, and at most `maxChars`
 * characters of envelopes (each distinct input counted once). A chunk holds at least one task,
 * so an input larger than maxChars travels alone.
 */
export function splitTasks(
  inputs: readonly string[],
  tasks: readonly ExprTask[],
  maxCount: number,
  maxChars: number,
): number[][] {
  const out: number[][] = [];
  let idx: number[] = [];
  let chars = 0;
  let seen = new Set<number>();
  tasks.forEach((task, g) => {
    const add = seen.has(task.input) ? 0 : inputs[task.input]!.length;
    if (idx.length > 0 && (idx.length >= maxCount || chars + add > maxChars)) {
      out.push(idx);
      idx = [];
      chars = 0;
      seen = new Set();
    }
    idx.push(g);
    if (!seen.has(task.input)) {
      seen.add(task.input);
      chars += inputs[task.input]!.length;
    }
  });
  if (idx.length > 0) out.push(idx);
  return out;
}

export function encodeChunk(
  id: number,
  inputs: readonly string[],
  tasks: readonly ExprTask[],
  idx: readonly number[],
  budgets: Int32Array,
  breakAfter: number,
  maxBodyChars: number,
): ChunkRequest {
  const exprs: string[] = [];
  const exprIdx = new Map<string, number>();
  const localInputs: string[] = [];
  const inputIdx = new Map<number, number>();
  const ref = (src: string | undefined) => {
    if (src === undefined) return -1;
    let i = exprIdx.get(src);
    if (i === undefined) exprIdx.set(src, (i = exprs.push(src) - 1));
    return i;
  };
  const packed = new Int32Array(idx.length * TASK_FIELDS);
  idx.forEach((g, k) => {
    const task = tasks[g]!;
    let input = inputIdx.get(task.input);
    if (input === undefined) inputIdx.set(task.input, (input = localInputs.push(inputs[task.input]!) - 1));
    const o = k * TASK_FIELDS;
    packed[o] = ref(task.filter);
    packed[o + 1] = ref(task.transform);
    packed[o + 2] = input;
    // Tasks without a budget share one unlimited slot at the end.
    packed[o + 3] = task.group >= 0 && task.group < budgets.length ? task.group : budgets.length;
  });
  const withUnlimited = Int32Array.from([...budgets, -1]);
  return { id, exprs, inputs: localInputs, tasks: packed, budgets: withUnlimited, breakAfter, maxBodyChars };
}

/** Fills `out` from the reply; returns the tasks it sent back unrun (Status.NotRun), to send again. */
export function decodeChunk(reply: ChunkReply, idx: readonly number[], out: ExprOutcome[]): number[] {
  let body = 0;
  const notRun: number[] = [];
  const failures = new Map(reply.failures.map((f) => [f.task, f]));
  idx.forEach((g, t) => {
    switch (reply.status[t]) {
      case Status.Dropped:
        out[g] = { status: 'dropped' };
        break;
      case Status.Pass:
        out[g] = { status: 'pass' };
        break;
      case Status.Body:
        out[g] = { status: 'body', body: reply.bodies[body++]! };
        break;
      case Status.Skipped:
        out[g] = { status: 'skipped' };
        break;
      case Status.NotRun:
        notRun.push(g);
        break;
      default: {
        const f = failures.get(t)!;
        out[g] = {
          status: 'failed',
          stage: f.stage,
          failure: { kind: f.kind, code: f.code, ...(f.position === undefined ? {} : { position: f.position }) },
        };
      }
    }
  });
  return notRun;
}
