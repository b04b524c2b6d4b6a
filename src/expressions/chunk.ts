// Packing a chunk of tasks into one thread message and unpacking the reply: each chunk carries
// only the expressions and envelopes its tasks use, and tasks travel as an Int32Array.
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

export function encodeChunk(
  id: number,
  inputs: readonly string[],
  tasks: readonly ExprTask[],
  idx: readonly number[],
  budgets: Int32Array,
  breakAfter: number,
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
  return { id, exprs, inputs: localInputs, tasks: packed, budgets: withUnlimited, breakAfter };
}

export function decodeChunk(reply: ChunkReply, idx: readonly number[], out: ExprOutcome[]): void {
  let body = 0;
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
}
