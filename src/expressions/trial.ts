// The registration trial: each filter and transform is run once, under the bridge's limits,
// against a sample envelope with empty data. An expression that times out or blows a limit
// there would do so on every event, so it is refused with the field named. Ordinary errors
// are not refused: an expression may legitimately need real data.
import type { Config } from '../config.js';
import { TenantsValidationError } from '../lib/errors.js';
import { describeFailure, isLimit } from './failure.js';
import { createExpressionPool, type ExpressionPool, type ExprTask } from './pool.js';
import type { EndpointConfig, TenantsFile } from '../tenants/schema.js';

function sampleEnvelope(tenant: string): string {
  return JSON.stringify({ id: 'sample', type: 'wss.sample', tenant, createdAt: new Date(0).toISOString(), data: {} });
}

interface Subject {
  /** e.g. `tenant "acme" endpoint "orders"`. */
  where: string;
  tenant: string;
  ep: Pick<EndpointConfig, 'filter' | 'transform'>;
}

/** One problem per refused field: `<where> field "filter": refused: on a sample event it … (D1012 at position 23)`. */
export async function trialProblems(pool: ExpressionPool, subjects: readonly Subject[]): Promise<string[]> {
  const inputs: string[] = [];
  const tasks: ExprTask[] = [];
  const fields: string[] = [];
  for (const s of subjects) {
    for (const field of ['filter', 'transform'] as const) {
      const src = s.ep[field];
      if (src === undefined) continue;
      const input = inputs.push(sampleEnvelope(s.tenant)) - 1;
      // Each expression alone: a transform is tried even where the filter would say no.
      tasks.push({
        filter: field === 'filter' ? src : undefined,
        transform: field === 'transform' ? src : undefined,
        input,
        group: -1,
      });
      fields.push(`${s.where} field "${field}"`);
    }
  }
  if (tasks.length === 0) return [];
  const outcomes = await pool.run(inputs, tasks);
  const problems: string[] = [];
  outcomes.forEach((o, i) => {
    if (o.status === 'failed' && isLimit(o.failure.kind))
      problems.push(`${fields[i]}: refused: on a sample event it failed with ${describeFailure(o.failure)}`);
  });
  return problems;
}

/** Throws TenantsValidationError (like parseEndpoint) if the endpoint's expressions fail the trial. */
export async function trialEndpoint(pool: ExpressionPool, tenant: string, ep: EndpointConfig): Promise<void> {
  const problems = await trialProblems(pool, [{ where: `endpoint "${ep.id}"`, tenant, ep }]);
  if (problems.length > 0) throw new TenantsValidationError(`endpoint is invalid: ${problems.join('; ')}`, problems);
}

/** The trial for a whole tenants file (seed, TENANTS_FILE), with a pool of its own. */
export async function trialTenantsFile(
  file: TenantsFile,
  config: Pick<Config, 'expr'>,
  what = 'tenants file',
): Promise<void> {
  const subjects = file.tenants.flatMap((t) =>
    t.endpoints.map((ep) => ({ where: `tenant "${t.id}" endpoint "${ep.id}"`, tenant: t.id, ep })),
  );
  if (!subjects.some((s) => s.ep.filter !== undefined || s.ep.transform !== undefined)) return;
  const pool = createExpressionPool(config);
  try {
    const problems = await trialProblems(pool, subjects);
    if (problems.length > 0) throw new TenantsValidationError(`${what} is invalid: ${problems.join('; ')}`, problems);
  } finally {
    await pool.close();
  }
}
