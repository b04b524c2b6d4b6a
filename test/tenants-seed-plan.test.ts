// planSeed (src/tenants/seed-plan.ts), pure: what a seed changes per endpoint, known answers.
import { describe, expect, it } from 'vitest';
import { parseTenantsFile, type EndpointConfig } from '../src/tenants/schema.js';
import { countChanges, describeChanges, planSeed } from '../src/tenants/seed-plan.js';

const A = 'plan-secret-a-0123456789';
const B = 'plan-secret-b-0123456789';
const ep = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  url: `https://h.example/${id}`,
  secret: A,
  ...over,
});
const fileOf = (...endpoints: Array<Record<string, unknown>>) =>
  parseTenantsFile({ tenants: [{ id: 't', endpoints }] });
const storedOf = (...endpoints: Array<Record<string, unknown>>) =>
  new Map<string, EndpointConfig>(fileOf(...endpoints).tenants[0]!.endpoints.map((e) => [`t/${e.id}`, e]));

describe('planSeed', () => {
  it('names created, updated (fields), unchanged and removed endpoints', () => {
    const stored = storedOf(ep('same'), ep('moved'), ep('gone'), ep('off', { enabled: false }));
    const plan = planSeed(
      fileOf(ep('same'), ep('moved', { url: 'https://h.example/new', timeoutMs: 500 }), ep('new'), ep('off')),
      stored,
      true,
    );
    expect(plan.changes).toEqual([
      { kind: 'unchanged', key: 't/same' },
      { kind: 'updated', key: 't/moved', fields: ['timeoutMs', 'url'], secretReplaced: false },
      { kind: 'created', key: 't/new' },
      { kind: 'updated', key: 't/off', fields: ['enabled'], secretReplaced: false },
      { kind: 'removed', key: 't/gone' },
    ]);
    expect(plan.secretReplaced).toEqual([]);
    expect(countChanges(plan.changes)).toEqual({ created: 1, updated: 2, unchanged: 1, removed: 1 });
    expect(describeChanges(plan.changes)).toEqual([
      'updated t/moved: timeoutMs, url',
      'created t/new',
      'updated t/off: enabled',
      'removed t/gone',
    ]);
  });

  it('a different active secret (value or variable) is a replaced secret; the value never shows', () => {
    const plan = planSeed(
      fileOf(ep('v', { secret: B }), ep('e', { secret: undefined, secretEnv: 'WSS_SECRET_T_OLD' })),
      storedOf(ep('v'), ep('e', { secret: undefined, secretEnv: 'WSS_SECRET_T_NEW' })),
      false,
    );
    expect(plan.secretReplaced).toEqual(['t/v', 't/e']);
    expect(describeChanges(plan.changes)).toEqual(['updated t/v: secret replaced', 'updated t/e: secret replaced']);
    expect(describeChanges(plan.changes).join()).not.toContain(A);
  });

  it('the same active secret keeps the stored previous secrets when the file gives none', () => {
    const previous = [{ secret: B, expiresAt: '2099-01-01T00:00:00.000Z' }];
    const stored = new Map([['t/r', { ...fileOf(ep('r')).tenants[0]!.endpoints[0]!, previousSecrets: previous }]]);
    const plan = planSeed(fileOf(ep('r')), stored, false);
    expect(plan.changes).toEqual([{ kind: 'unchanged', key: 't/r' }]);
    expect(plan.writes[0]!.ep.previousSecrets).toEqual(previous);
  });
});
