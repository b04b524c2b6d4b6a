// `wss rotate-secret` and `wss secrets reencrypt`.
import { parseArgs } from 'node:util';
import { requireTarget, TARGET_FLAGS, withRegistry } from './common.js';
import type { Config } from '../config.js';
import { UsageError, WssError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { escapeControls as x } from '../lib/terminal.js';
import { SECRET_ENV_PATTERN } from '../tenants/schema.js';
import { ed25519Key, generateSecret, publicKeyOf } from '../signing/keys.js';
import { parseOverlap, rotateSecret, RotationError, schemeOf, type NewSecret } from '../signing/rotate.js';

class RotateFailed extends WssError {
  constructor(message: string) {
    super('ROTATE_FAILED', message);
  }
}

export async function cmdRotateSecret(args: string[], config: Config, log: Logger): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_FLAGS,
      secret: { type: 'string' },
      'secret-env': { type: 'string' },
      overlap: { type: 'string' },
    },
    strict: true,
  });
  const { tenant, endpoint } = requireTarget('wss rotate-secret', values);
  if (values.secret !== undefined && values['secret-env'] !== undefined)
    throw new UsageError('give --secret or --secret-env, not both');
  if (values['secret-env'] !== undefined && !SECRET_ENV_PATTERN.test(values['secret-env']))
    throw new UsageError('--secret-env must name a WSS_SECRET_* variable');
  let overlapMs: number;
  try {
    overlapMs = parseOverlap(values.overlap);
  } catch (err) {
    if (err instanceof RotationError)
      throw new UsageError(`--overlap ${err.message.replace(/^field "overlap": /, '')}`);
    throw err;
  }
  const out = await withRegistry(config, log, async (registry) => {
    const existing = await registry.getEndpointConfig(tenant, endpoint);
    if (!existing) throw new RotateFailed(`endpoint "${endpoint}" of tenant "${tenant}" not found`);
    const scheme = schemeOf(existing);
    if (scheme === 'standard-webhooks-ed25519' && values['secret-env'] === undefined && !config.secretsKeys) {
      throw new RotateFailed(
        'an Ed25519 private key is kept in Redis only encrypted: set WSS_SECRETS_KEY, or give --secret-env',
      );
    }
    const generated =
      values.secret === undefined && values['secret-env'] === undefined ? generateSecret(scheme) : undefined;
    const next: NewSecret =
      values['secret-env'] !== undefined
        ? { secretEnv: values['secret-env'] }
        : { secret: values.secret ?? generated! };
    try {
      const updated = await registry.updateEndpoint(tenant, endpoint, (cur) =>
        rotateSecret(cur, next, overlapMs, Date.now(), tenant),
      );
      if (!updated) throw new RotateFailed(`endpoint "${endpoint}" of tenant "${tenant}" not found`);
      return { scheme, generated, active: 1 + (updated.previousSecrets?.length ?? 0) };
    } catch (err) {
      if (err instanceof RotationError)
        throw new RotateFailed(
          err.message.replace(/^field "secretEnv"/, '--secret-env').replace(/^field "overlap"/, '--overlap'),
        );
      throw err;
    }
  });
  process.stdout.write(
    `rotated ${x(`${tenant}/${endpoint}`)}: ${out.active} active secret(s), overlap ${x(values.overlap ?? '24h')}\n`,
  );
  if (out.generated !== undefined) {
    if (out.scheme === 'standard-webhooks-ed25519') {
      const key = ed25519Key(out.generated);
      if (typeof key !== 'string') process.stdout.write(`public key: ${publicKeyOf(key).publicKey}\n`);
    } else {
      // Printed this once: it is not stored anywhere the CLI or API can show again.
      process.stdout.write(`new secret: ${out.generated}\n`);
    }
  }
}

export async function cmdSecrets(args: string[], config: Config, log: Logger): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'reencrypt' || rest.length > 0) throw new UsageError('usage: wss secrets reencrypt');
  if (!config.secretsKeys)
    throw new UsageError('wss secrets reencrypt needs WSS_SECRETS_KEY (the new key first, then the old ones)');
  const { rewritten, unreadable } = await withRegistry(config, log, (registry) => registry.reencryptAll());
  process.stdout.write(`re-encrypted ${rewritten} endpoint(s) with key "${config.secretsKeys[0]!.id}"\n`);
  if (unreadable.length > 0) {
    throw new RotateFailed(
      `${unreadable.length} endpoint(s) hold a secret encrypted with a key WSS_SECRETS_KEY does not list, left unchanged: ${unreadable.join(', ')}`,
    );
  }
}
