// The expression pool's thread (loaded by Node itself from dist/, see expressions/pool.ts).
// Evaluates a chunk of filter/transform tasks with jsonata's own guardrails (deadline, depth,
// sequence length); whatever those cannot stop (a catastrophic regex is one native call) the
// pool's watchdog stops by terminating this thread. What a chunk keeps in the heap is bounded:
// one parsed envelope, and bodies up to the request's maxBodyChars (the rest goes back unrun).
import { parentPort, workerData } from 'node:worker_threads';
import jsonata from 'jsonata';
import { classifyThrown, failureFrom, WSS_CODES, type ExprFailure } from './failure.js';
import {
  CURRENT,
  IDLE,
  SEQ,
  Status,
  TASK_FIELDS,
  type ChunkFailure,
  type ChunkReply,
  type ChunkRequest,
  type ThreadData,
} from './protocol.js';

const data = workerData as ThreadData;
const progress = new Int32Array(data.progress);
const options = { timeout: data.timeoutMs, stack: data.maxDepth, sequence: data.maxSequence };

// Compiled once per expression text; the registry holds a bounded number of expressions.
const MAX_CACHED = 5_000;
const compiled = new Map<string, jsonata.Expression | ExprFailure>();

function compile(src: string): jsonata.Expression | ExprFailure {
  let c = compiled.get(src);
  if (c === undefined) {
    try {
      c = jsonata(src, options);
    } catch (err) {
      c = classifyThrown(err);
    }
    if (compiled.size >= MAX_CACHED) compiled.clear();
    compiled.set(src, c);
  }
  return c;
}

function begin(slot: number): void {
  Atomics.store(progress, CURRENT, slot);
  Atomics.add(progress, SEQ, 1);
}

async function evaluate(src: string, input: () => unknown): Promise<unknown> {
  const expr = compile(src);
  if (!('evaluate' in expr)) throw expr; // a compile failure, already classified
  return expr.evaluate(input());
}

async function runChunk(req: ChunkRequest): Promise<ChunkReply> {
  const n = req.tasks.length / TASK_FIELDS;
  const status = new Uint8Array(n);
  const bodies: string[] = [];
  const failures: ChunkFailure[] = [];
  const budgets = req.budgets;
  // One parsed envelope at a time: a chunk's tasks come grouped by event, and keeping every
  // parsed envelope of a large chunk would hold several times its text in the heap.
  let parsedIdx = -1;
  let parsed: unknown;
  let held = 0;
  for (let t = 0; t < n; t++) {
    if (held >= req.maxBodyChars) {
      status[t] = Status.NotRun;
      continue;
    }
    const o = t * TASK_FIELDS;
    const [filter, transform, inputIdx, group] = [
      req.tasks[o]!,
      req.tasks[o + 1]!,
      req.tasks[o + 2]!,
      req.tasks[o + 3]!,
    ];
    if (budgets[group] === 0) {
      status[t] = Status.Skipped;
      continue;
    }
    // Parsed inside the evaluation window, so the watchdog covers it too.
    const input = () => {
      if (parsedIdx !== inputIdx) {
        parsed = JSON.parse(req.inputs[inputIdx]!);
        parsedIdx = inputIdx;
      }
      return parsed;
    };
    let stage: 'filter' | 'transform' = 'filter';
    try {
      if (filter >= 0) {
        begin(t * 2);
        // Only a literal true passes: a filter that yields a string or a number is a mistake.
        if ((await evaluate(req.exprs[filter]!, input)) !== true) {
          status[t] = Status.Dropped;
          if (budgets[group]! > 0) budgets[group] = req.breakAfter; // a success ends the run of failures
          continue;
        }
      }
      if (transform >= 0) {
        stage = 'transform';
        begin(t * 2 + 1);
        const out = await evaluate(req.exprs[transform]!, input);
        if (out === undefined) throw failureFrom(WSS_CODES.empty);
        const body = JSON.stringify(out);
        bodies.push(body);
        held += body.length;
        status[t] = Status.Body;
      } else {
        status[t] = Status.Pass;
      }
      if (budgets[group]! > 0) budgets[group] = req.breakAfter;
    } catch (err) {
      status[t] = Status.Failed;
      failures.push({ task: t, stage, ...classifyThrown(err) });
      if (budgets[group]! > 0) budgets[group]!--;
    } finally {
      Atomics.store(progress, CURRENT, IDLE);
    }
  }
  return { id: req.id, status, bodies, failures, budgets };
}

parentPort!.on('message', (req: ChunkRequest) => {
  void runChunk(req).then((reply) =>
    parentPort!.postMessage(reply, [reply.status.buffer as ArrayBuffer, reply.budgets.buffer as ArrayBuffer]),
  );
});
