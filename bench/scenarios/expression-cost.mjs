// The sandbox's cost per filter evaluation: jsonata in-process on the caller's thread (how the
// bridge evaluated before issue 7) against the expression pool (worker threads with limits),
// batched as the bridge batches them: one read of 500 events × 10 filtered endpoints.
import { performance } from 'node:perf_hooks';
import jsonata from 'jsonata';
import { ExpressionPool } from '../../dist/expressions/pool.js';
import { paddedData } from '../lib/service.mjs';
import { median, round } from '../lib/stats.mjs';

const FILTER = "data.status = 'shipped'";
const EVENTS = 500;
const ENDPOINTS = 10;

function envelopes(batch) {
  return Array.from({ length: EVENTS }, (_, i) => {
    const seq = batch * EVENTS + i;
    return `{"id":"e${seq}","type":"order.updated","tenant":"bench","createdAt":"2023-11-14T22:13:20.000Z","data":${paddedData(seq)}}`;
  });
}

async function inProcess(batches) {
  const expr = jsonata(FILTER);
  const inputs = Array.from({ length: batches }, (_, b) => envelopes(b).map((e) => JSON.parse(e)));
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let passed = 0;
  for (const batch of inputs)
    for (const input of batch) for (let e = 0; e < ENDPOINTS; e++) if ((await expr.evaluate(input)) === true) passed++;
  const cpu = process.cpuUsage(cpu0);
  const n = batches * EVENTS * ENDPOINTS;
  return { usPerEval: ((performance.now() - started) * 1000) / n, cpuUsPerEval: (cpu.user + cpu.system) / n, passed };
}

async function pooled(pool, batches) {
  const all = Array.from({ length: batches }, (_, b) => envelopes(b));
  const tasks = Array.from({ length: EVENTS * ENDPOINTS }, (_, k) => ({
    filter: FILTER,
    transform: undefined,
    input: Math.floor(k / ENDPOINTS),
    group: k % ENDPOINTS,
  }));
  const budgets = Array.from({ length: ENDPOINTS }, () => 5);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let passed = 0;
  for (const inputs of all) for (const o of await pool.run(inputs, tasks, budgets)) if (o.status === 'pass') passed++;
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const n = batches * EVENTS * ENDPOINTS;
  // CPU of the whole process (main thread and pool threads): the real price of the sandbox.
  return { usPerEval: (ms * 1000) / n, cpuUsPerEval: (cpu.user + cpu.system) / n, passed };
}

export async function expressionCost(ctx) {
  const batches = ctx.quick ? 4 : 20;
  const pool = new ExpressionPool({ threads: 2, timeoutMs: 50, memoryMb: 64, breakAfter: 5 });
  try {
    await inProcess(1);
    await pooled(pool, 1); // warm-up: threads, JIT
    const inRuns = [];
    const poolRuns = [];
    for (let i = 0; i < ctx.repeats; i++) {
      inRuns.push(await inProcess(batches));
      poolRuns.push(await pooled(pool, batches));
    }
    const n = batches * EVENTS * ENDPOINTS;
    if (inRuns.some((r) => r.passed !== n) || poolRuns.some((r) => r.passed !== n))
      throw new Error('expression-cost: a filter did not pass');
    const inUs = median(inRuns.map((r) => r.usPerEval));
    const poolUs = median(poolRuns.map((r) => r.usPerEval));
    const inCpu = median(inRuns.map((r) => r.cpuUsPerEval));
    const poolCpu = median(poolRuns.map((r) => r.cpuUsPerEval));
    return {
      data: {
        filter: FILTER,
        evaluations: n,
        inProcess: { wallUs: round(inUs, 2), cpuUs: round(inCpu, 2) },
        pool: { wallUs: round(poolUs, 2), cpuUs: round(poolCpu, 2), threads: 2 },
      },
      rows: [
        {
          metric: `µs per filter evaluation in-process (before), wall / CPU, median of ${inRuns.length} × ${n}`,
          value: `${round(inUs, 1)} / ${round(inCpu, 1)}`,
        },
        {
          metric: 'µs per evaluation in the pool (2 threads, 500 events × 10 endpoints a read), wall / CPU all threads',
          value: `${round(poolUs, 1)} / ${round(poolCpu, 1)}`,
        },
      ],
    };
  } finally {
    await pool.close();
  }
}
