// The tenant-bound secret variable rule, pure (src/signing/secret-env.ts): known answers.
import { describe, expect, it } from 'vitest';
import { foreignSecretEnvs, markForeignSecretEnv, ownsSecretEnv, secretEnvPrefix } from '../src/signing/secret-env.js';

describe('secretEnvPrefix', () => {
  it('is WSS_SECRET_ + the tenant id upper-cased, every non-alphanumeric character as _', () => {
    expect(secretEnvPrefix('acme')).toBe('WSS_SECRET_ACME_');
    expect(secretEnvPrefix('my-co_2')).toBe('WSS_SECRET_MY_CO_2_');
    expect(ownsSecretEnv('globex', 'WSS_SECRET_GLOBEX_ALL')).toBe(true);
    expect(ownsSecretEnv('globex', 'WSS_SECRET_ACME_ORDERS')).toBe(false);
    expect(ownsSecretEnv('globex', 'WSS_SECRET_GLOBEX_')).toBe(false);
    expect(ownsSecretEnv('globex', 'WSS_SECRET_GLOBEXX_ALL')).toBe(false);
  });
});

describe('foreignSecretEnvs and markForeignSecretEnv', () => {
  it("names every field holding another tenant's variable, as the input spells it", () => {
    expect(
      foreignSecretEnvs('globex', {
        secretEnv: 'WSS_SECRET_GLOBEX_A',
        previousSecretEnv: 'WSS_SECRET_ACME_B',
        secrets: [{ secretEnv: 'WSS_SECRET_GLOBEX_C' }, { secretEnv: 'WSS_SECRET_INITECH_D' }],
        previousSecrets: [{ secret: 'inline-0123456789abcdef' }, { secretEnv: 'WSS_SECRET_X' }],
      }),
    ).toEqual([
      { field: 'previousSecretEnv', name: 'WSS_SECRET_ACME_B' },
      { field: 'secrets.1.secretEnv', name: 'WSS_SECRET_INITECH_D' },
      { field: 'previousSecrets.1.secretEnv', name: 'WSS_SECRET_X' },
    ]);
  });

  it('marks a stored endpoint broken with the reason, leaves a fine one (or one already broken) as it is', () => {
    const fine = { id: 'a', secretEnv: 'WSS_SECRET_GLOBEX_A' };
    expect(markForeignSecretEnv('globex', fine, 0)).toBe(fine);
    const stored: { id: string; secretEnv: string; broken?: unknown } = { id: 'a', secretEnv: 'WSS_SECRET_ACME_A' };
    const marked = markForeignSecretEnv('globex', stored, 0);
    expect(marked.broken).toEqual({
      reason:
        'tenant "globex" endpoint "a" field "secretEnv": WSS_SECRET_ACME_A is not a variable of tenant "globex": its endpoints may only name variables starting with WSS_SECRET_GLOBEX_',
      since: '1970-01-01T00:00:00.000Z',
    });
    const already = { id: 'a', secretEnv: 'WSS_SECRET_ACME_A', broken: { reason: 'x', since: 'y' } };
    expect(markForeignSecretEnv('globex', already, 0)).toBe(already);
  });
});
