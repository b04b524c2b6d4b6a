// Counts each endpoint's expression failures in a row (per bridge process). After breakAfter
// of them the endpoint is broken: its events are dead-lettered without evaluating anything,
// and `broken` is stored on the endpoint in the registry (shown by the admin API) until the
// endpoint is registered again. A success ends the run.
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { expressionFailures, seriesOf } from '../lib/metrics.js';
import type { ExpressionGate } from './gate.js';
import type { CompiledEndpoint } from '../tenants/compile.js';
import { describeFailure } from './failure.js';
import type { ExprOutcome } from './pool.js';
import type { EndpointConfig } from '../tenants/schema.js';

type Broken = NonNullable<EndpointConfig['broken']>;

/** Stores `broken` on the endpoint unless its expressions changed meanwhile (see expressionsOf). */
type PersistBroken = (tenant: string, endpoint: string, broken: Broken, expressions: string) => Promise<void>;

interface Run {
  /** The expressions counted: a re-registered endpoint with other expressions starts afresh. */
  expressions: string;
  failures: number;
  tripped?: Broken;
}

const signatures = new WeakMap<object, string>();

export function expressionsOf(ep: Pick<EndpointConfig, 'filter' | 'transform'>): string {
  let sig = signatures.get(ep);
  if (sig === undefined) signatures.set(ep, (sig = JSON.stringify([ep.filter ?? null, ep.transform ?? null])));
  return sig;
}

export class ExpressionBreaker implements ExpressionGate {
  private readonly runs = new Map<string, Run>();

  constructor(private readonly deps: { breakAfter: number; now: () => number; persist: PersistBroken; log?: Logger }) {}

  /** The current run of failures, if any, for the endpoint's current expressions. */
  private current(tenant: string, ep: CompiledEndpoint): Run | undefined {
    const run = this.runs.get(`${tenant}/${ep.config.id}`);
    return run?.expressions === expressionsOf(ep.config) ? run : undefined;
  }

  broken(tenant: string, ep: CompiledEndpoint): string | undefined {
    return this.current(tenant, ep)?.tripped?.reason;
  }

  budget(tenant: string, ep: CompiledEndpoint): number {
    return Math.max(0, this.deps.breakAfter - (this.current(tenant, ep)?.failures ?? 0));
  }

  record(tenant: string, ep: CompiledEndpoint, outcome: ExprOutcome): void {
    if (outcome.status === 'skipped') return;
    const key = `${tenant}/${ep.config.id}`;
    let run = this.current(tenant, ep);
    if (outcome.status !== 'failed') {
      // Only runs of failures are kept: the map stays as small as the trouble.
      if (run && !run.tripped) this.runs.delete(key);
      return;
    }
    expressionFailures.inc({ ...seriesOf(tenant, ep.config.id), kind: outcome.failure.kind });
    if (!run) this.runs.set(key, (run = { expressions: expressionsOf(ep.config), failures: 0 }));
    if (run.tripped) return;
    run.failures++;
    if (run.failures < this.deps.breakAfter) return;
    run.tripped = {
      reason: `${run.failures} expression failures in a row; last: ${outcome.stage} ${describeFailure(outcome.failure)}`,
      since: new Date(this.deps.now()).toISOString(),
    };
    this.deps.log?.warn(
      { tenant, endpoint: ep.config.id, reason: run.tripped.reason },
      'expressions: endpoint marked broken',
    );
  }

  /** Stores newly broken endpoints in the registry. Never throws: a failed write is retried next time. */
  async flush(): Promise<void> {
    for (const [key, run] of this.runs) {
      if (!run.tripped) continue;
      const slash = key.indexOf('/');
      try {
        await this.deps.persist(key.slice(0, slash), key.slice(slash + 1), run.tripped, run.expressions);
        // The registry snapshot now carries `broken`; a re-registration later starts a fresh run.
        this.runs.delete(key);
      } catch (err) {
        this.deps.log?.error(
          { endpoint: key, err: errorMessage(err) },
          'expressions: could not store the broken mark; retrying after the next batch',
        );
      }
    }
  }
}
