// Reading a tenants file from disk (TENANTS_FILE, `wss seed`, the demo): errors name the file and
// then, through the schema, the tenant, endpoint and field.
import { readFile } from 'node:fs/promises';
import { errorMessage, TenantsValidationError } from '../lib/errors.js';
import { parseTenantsFile, type RegistrationRules, type TenantsFile } from './schema.js';

/** Reads and validates a tenants file; errors name the file, then tenant, endpoint and field. */
export async function loadTenantsFile(path: string, rules: RegistrationRules): Promise<TenantsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TenantsValidationError(
      `cannot read tenants file ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
      [],
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TenantsValidationError(`tenants file ${path} is not JSON: ${errorMessage(err)}`, []);
  }
  try {
    return parseTenantsFile(json, rules);
  } catch (err) {
    if (err instanceof TenantsValidationError)
      throw new TenantsValidationError(`${path}: ${err.message}`, err.problems);
    throw err;
  }
}

/** Endpoint secrets named by secretEnv that this process cannot see (a hint for `wss seed`). */
export function missingSecretEnvs(file: TenantsFile, has: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const t of file.tenants) {
    for (const ep of t.endpoints) {
      // The newest secret and, during a rotation, the previous ones: a worker needs all of them.
      const names = [ep.secretEnv, ...(ep.previousSecrets ?? []).map((p) => p.secretEnv)];
      for (const name of names) if (name && !has(name)) out.push(`tenant "${t.id}" endpoint "${ep.id}": ${name}`);
    }
  }
  return out;
}
