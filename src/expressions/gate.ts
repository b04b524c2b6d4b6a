// What a planner needs of the sandbox, as interfaces: a runner that evaluates a batch of
// filters and transforms (the ExpressionPool) and a gate that says which endpoints' expressions
// may still run (the ExpressionBreaker). They live with the sandbox so the bridge and replay
// import them from here, and nothing in expressions/ reaches up into producers/.
import type { ExprOutcome, ExprTask } from './chunk.js';
import type { CompiledEndpoint } from '../tenants/compile.js';

/** Runs a batch of evaluations (the ExpressionPool). */
export interface ExpressionRunner {
  run(inputs: readonly string[], tasks: readonly ExprTask[], budgets: readonly number[]): Promise<ExprOutcome[]>;
}

/** Failures in a row per endpoint (the ExpressionBreaker); absent: no endpoint ever breaks. */
export interface ExpressionGate {
  /** Why this endpoint's expressions must not run any more, or undefined. */
  broken(tenant: string, ep: CompiledEndpoint): string | undefined;
  /** Failures in a row still allowed before it breaks; -1: unlimited. */
  budget(tenant: string, ep: CompiledEndpoint): number;
  /** Called once per evaluated task, in event order. */
  record(tenant: string, ep: CompiledEndpoint, outcome: ExprOutcome): void;
}
