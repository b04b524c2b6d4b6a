// The expression pool: runaway filters and transforms fail alone, in their own thread, and the
// pool keeps answering. Real worker threads (the entry comes from dist/, built by pretest).
import { afterAll, describe, expect, it } from 'vitest';
import { describeFailure, isLimit } from '../src/expressions/failure.js';
import { ExpressionPool, type ExprOutcome, type ExprTask } from '../src/expressions/pool.js';
import { trialProblems } from '../src/expressions/trial.js';

const CARD = '4111111111111111';
const ENVELOPE = JSON.stringify({
  id: 'evt_1',
  type: 'order.updated',
  tenant: 'acme',
  createdAt: '2023-11-14T22:13:20.000Z',
  data: { card: CARD, n: 3, status: 'shipped' },
});

const BOMBS: Record<string, string> = {
  recursion: '($f := function($x){ $f($x) }; $f(1))',
  'mutual recursion': '($a := function($x){ $b($x) }; $b := function($x){ $a($x) }; $a(1))',
  growth: '($f := function($x){ $x + $f($x) }; $f(1))',
  'huge range': '[1..100000000]',
  'catastrophic regex': '$contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)',
  'deep nesting': `${'['.repeat(3000)}1${']'.repeat(3000)}`,
  'string doubling': '($f := function($s, $n){ $n = 0 ? $length($s) : $f($s & $s, $n - 1) }; $f(data.card, 40))',
  'sequence doubling':
    '($f := function($a, $n){ $n = 0 ? $count($a) : $f($append($a, $a), $n - 1) }; $f([1,2,3,4,5,6,7,8], 30))',
};

const pool = new ExpressionPool({ threads: 2, timeoutMs: 50, memoryMb: 64, breakAfter: 3 });
afterAll(() => pool.close());

const filter = (src: string, group = -1): ExprTask => ({ filter: src, transform: undefined, input: 0, group });
const failed = (o: ExprOutcome | undefined) => (o?.status === 'failed' ? o : undefined);

describe('expression pool limits', () => {
  for (const [name, src] of Object.entries(BOMBS)) {
    it(`stops ${name} with a limit failure, then answers ordinary expressions`, async () => {
      const [out] = await pool.run([ENVELOPE], [filter(src)]);
      const f = failed(out);
      expect(f, JSON.stringify(out)).toBeDefined();
      expect(isLimit(f!.failure.kind)).toBe(true);
      const reason = describeFailure(f!.failure);
      expect(reason).not.toContain(CARD);
      expect(reason).not.toMatch(/aaaa|100000000/);
      expect(await pool.run([ENVELOPE], [filter("data.status = 'shipped'"), filter('data.n > 5')])).toEqual([
        { status: 'pass' },
        { status: 'dropped' },
      ]);
    });
  }

  it('terminates a thread stuck in one step and re-runs the rest of its batch correctly', async () => {
    const before = pool.terminated;
    const tasks: ExprTask[] = Array.from({ length: 40 }, (_, i) => ({
      filter: i === 17 ? BOMBS['catastrophic regex'] : 'data.n = 3',
      transform: i % 2 === 1 ? '{ "i": data.n, "s": data.status }' : undefined,
      input: 0,
      group: -1,
    }));
    const out = await pool.run([ENVELOPE], tasks);
    // Once in the batch, once more when the timeout is confirmed alone.
    expect(pool.terminated).toBe(before + 2);
    out.forEach((o, i) => {
      if (i === 17)
        expect(o).toEqual({ status: 'failed', stage: 'filter', failure: { kind: 'timeout', code: 'WSS_DEADLINE' } });
      else if (i % 2 === 1) expect(o).toEqual({ status: 'body', body: '{"i":3,"s":"shipped"}' });
      else expect(o).toEqual({ status: 'pass' });
    });
  });

  it('fails an evaluation that exhausts the thread heap as memory, and replaces the thread', async () => {
    const small = new ExpressionPool({ threads: 1, timeoutMs: 5_000, memoryMb: 16 });
    try {
      const out = await small.run(
        [ENVELOPE],
        [filter('data.n = 3'), filter('$string([1..1000000])'), filter('data.n = 3')],
      );
      expect(out).toEqual([
        { status: 'pass' },
        { status: 'failed', stage: 'filter', failure: { kind: 'memory', code: 'WSS_HEAP' } },
        { status: 'pass' },
      ]);
    } finally {
      await small.close();
    }
  });

  it('keeps ordinary errors ordinary, by code and position only', async () => {
    const [out] = await pool.run([ENVELOPE], [filter('$number(data.card & "x") > 1')]);
    expect(out).toEqual({ status: 'failed', stage: 'filter', failure: { kind: 'error', code: 'D3030', position: 8 } });
    expect(describeFailure(failed(out)!.failure)).toBe(
      'error: a value could not be cast to a number (D3030 at position 8)',
    );
  });

  it('skips a group once its failures in a row use up its budget; a success resets the run', async () => {
    const bad = filter('$error("no")', 0);
    const good = filter('true', 0);
    const other = filter('true', 1);
    const out = await pool.run([ENVELOPE], [bad, bad, good, bad, bad, bad, other, good, bad], [3, -1]);
    expect(out.map((o) => o.status)).toEqual([
      'failed',
      'failed',
      'pass',
      'failed',
      'failed',
      'failed',
      'pass',
      'skipped',
      'skipped',
    ]);
  });

  it('works through a large batch in several messages', async () => {
    const inputs = Array.from({ length: 300 }, (_, i) => JSON.stringify({ data: { i } }));
    const tasks = Array.from({ length: 3_000 }, (_, k) => ({
      filter: `data.i % ${(k % 10) + 1} = 0`,
      transform: undefined,
      input: k % 300,
      group: -1,
    }));
    const out = await pool.run(inputs, tasks);
    expect(out.map((o) => o.status)).toEqual(
      tasks.map((_, k) => ((k % 300) % ((k % 10) + 1) === 0 ? 'pass' : 'dropped')),
    );
  });
});

describe('registration trial', () => {
  it('refuses expressions that time out or blow a limit on a sample event, naming the field', async () => {
    const problems = await trialProblems(pool, [
      {
        where: 'tenant "evil" endpoint "hook"',
        tenant: 'evil',
        ep: { filter: BOMBS.recursion, transform: BOMBS['catastrophic regex'] },
      },
      { where: 'tenant "evil" endpoint "grow"', tenant: 'evil', ep: { transform: BOMBS.growth } },
    ]);
    expect(problems).toEqual([
      expect.stringMatching(
        /^tenant "evil" endpoint "hook" field "filter": refused: on a sample event it failed with timeout: .*\((D1012 at position \d+|WSS_DEADLINE)\)$/,
      ),
      expect.stringMatching(
        /^tenant "evil" endpoint "hook" field "transform": refused: .*timeout: .*\(WSS_DEADLINE\)$/,
      ),
      expect.stringMatching(
        /^tenant "evil" endpoint "grow" field "transform": refused: .*recursion: .*\(D1011 at position \d+\)$/,
      ),
    ]);
  });

  it('accepts expressions that only fail for want of real data, and data-dependent ones', async () => {
    const problems = await trialProblems(pool, [
      { where: 'e1', tenant: 'a', ep: { filter: '$number(data.card) > 0', transform: '$error("needs data")' } },
      { where: 'e2', tenant: 'a', ep: { filter: '($f := function($x){ $f($x) }; data.n > 0 ? $f(data.n) : true)' } },
    ]);
    expect(problems).toEqual([]);
  });
});
