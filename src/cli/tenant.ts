// `wss tenant token create|list|revoke`, `wss tenant portal-link` and `wss tenant access`: the
// operator's side of tenant access from the command line, as the admin API offers it
// (docs/portal.md). A token is printed once and never again.
import { parseArgs } from 'node:util';
import { createAccess } from '../access/access.js';
import { policyProblems } from '../access/policy.js';
import { TokenRequestError } from '../access/tokens.js';
import type { Config } from '../config.js';
import { UsageError, WssError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { createTokenFor, portalLinkUrl } from '../tenant-api/issue.js';
import type { Registry } from '../tenants/registry.js';
import { JSON_FLAG, withRegistry } from './common.js';

const USAGE = `usage:
  wss tenant token create --tenant T [--name N] [--expires 30d] [--read-only] [--json]
  wss tenant token list --tenant T [--json]
  wss tenant token revoke --tenant T --id TOKEN_ID
  wss tenant portal-link --tenant T [--read-only] [--json]
  wss tenant access --tenant T [--allow-private-urls true|false] [--allow-expressions true|false] [--json]`;

class TenantCommandError extends WssError {
  constructor(message: string) {
    super('TENANT_COMMAND_FAILED', message);
  }
}

const out = (text: string) => void process.stdout.write(`${text}\n`);

async function knownTenant(registry: Registry, tenant: string): Promise<void> {
  if (!(await registry.refresh()).tenants.has(tenant)) throw new TenantCommandError(`tenant "${tenant}" not found`);
}

function flag(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new UsageError(`--${name} must be true or false`);
}

export async function cmdTenant(args: string[], config: Config, log: Logger): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'token') return cmdToken(rest, config, log);
  const { values } = parseArgs({
    args: rest,
    options: {
      tenant: { type: 'string' },
      'read-only': { type: 'boolean', default: false },
      'allow-private-urls': { type: 'string' },
      'allow-expressions': { type: 'string' },
      ...JSON_FLAG,
    },
    strict: true,
  });
  const tenant = values.tenant;
  if (!tenant) throw new UsageError(`wss tenant ${sub ?? ''} needs --tenant\n${USAGE}`);
  if (sub === 'portal-link') {
    const origin = config.dashboard.portal.publicUrl ?? `http://localhost:${config.dashboard.port}`;
    const link = await withRegistry(config, log, async (registry, redis) => {
      await knownTenant(registry, tenant);
      return createAccess(redis, config, Date.now).links.create(tenant, { readOnly: values['read-only'] });
    });
    const url = portalLinkUrl(origin, link.code);
    if (values.json) return out(JSON.stringify({ url, ...link.record }));
    out(url);
    process.stderr.write(`opens once, until ${link.record.expiresAt}${link.record.readOnly ? ' (read-only)' : ''}\n`);
    return;
  }
  if (sub === 'access') {
    const change: Record<string, unknown> = {};
    const priv = flag(values['allow-private-urls'], 'allow-private-urls');
    const expr = flag(values['allow-expressions'], 'allow-expressions');
    if (priv !== undefined) change.allowPrivateUrls = priv;
    if (expr !== undefined) change.allowExpressions = expr;
    if (policyProblems(change).length > 0) throw new UsageError(policyProblems(change).join('; '));
    const policy = await withRegistry(config, log, async (registry, redis) => {
      await knownTenant(registry, tenant);
      const policies = createAccess(redis, config, Date.now).policies;
      return Object.keys(change).length > 0 ? policies.set(registry, tenant, change) : policies.get(tenant);
    });
    if (values.json) return out(JSON.stringify(policy));
    out(
      `tenant ${tenant}: private URLs ${policy.allowPrivateUrls ? 'allowed' : 'refused'}, filters and transforms ${policy.allowExpressions ? 'allowed' : 'refused'}`,
    );
    return;
  }
  throw new UsageError(USAGE);
}

async function cmdToken(args: string[], config: Config, log: Logger): Promise<void> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      tenant: { type: 'string' },
      id: { type: 'string' },
      name: { type: 'string' },
      expires: { type: 'string' },
      'read-only': { type: 'boolean', default: false },
      ...JSON_FLAG,
    },
    strict: true,
  });
  const tenant = values.tenant;
  if (!tenant) throw new UsageError(`wss tenant token ${sub ?? ''} needs --tenant\n${USAGE}`);
  if (sub === 'create') {
    const input = {
      readOnly: values['read-only'],
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values.expires !== undefined ? { expiresIn: values.expires } : {}),
    };
    const made = await withRegistry(config, log, async (registry, redis) => {
      await knownTenant(registry, tenant);
      return createTokenFor(createAccess(redis, config, Date.now), tenant, input).catch((err: unknown) => {
        throw err instanceof TokenRequestError
          ? new UsageError(err.message.replace(/field "expiresIn"/g, '--expires'))
          : err;
      });
    });
    if (values.json) return out(JSON.stringify(made));
    process.stderr.write(
      `token ${made.id} for tenant ${tenant}${made.readOnly ? ' (read-only)' : ''}, ${made.expiresAt ? `expires ${made.expiresAt}` : 'does not expire'}; shown this once:\n`,
    );
    return out(made.token);
  }
  if (sub === 'list') {
    const tokens = await withRegistry(config, log, async (_registry, redis) =>
      createAccess(redis, config, Date.now).tokens.list(tenant),
    );
    if (values.json) return out(JSON.stringify({ tokens }));
    if (tokens.length === 0) return out(`tenant ${tenant} has no tokens`);
    for (const t of tokens)
      out(
        `${t.id}  ${t.readOnly ? 'read-only ' : 'read-write'}  created ${t.createdAt}  ${t.expiresAt ? `${t.expired ? 'expired' : 'expires'} ${t.expiresAt}` : 'no expiry'}${t.name ? `  ${t.name}` : ''}`,
      );
    return;
  }
  if (sub === 'revoke') {
    if (!values.id) throw new UsageError(`wss tenant token revoke needs --id\n${USAGE}`);
    const id = values.id;
    const revoked = await withRegistry(config, log, async (_registry, redis) =>
      createAccess(redis, config, Date.now).tokens.revoke(tenant, id),
    );
    if (!revoked) throw new TenantCommandError(`tenant "${tenant}" has no token "${id}"`);
    return out(`revoked ${id}`);
  }
  throw new UsageError(USAGE);
}
