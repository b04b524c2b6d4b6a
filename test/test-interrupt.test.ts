// Ctrl-C of `npm test` (SIGINT to the whole process group) leaves no process behind: the test
// helpers kill what they started (test/helpers/children.ts). Before, a `wss start` whose Redis
// died in the same instant spent its grace period (25 s, then a 15 s watchdog) waiting on it,
// and one still starting up waited for ever (issue 18).
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VITEST = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));

/** Every process of process group `pgid`, as `pid command` lines. */
function groupMembers(pgid: number): string[] {
  const lines = execFileSync('ps', ['-e', '-o', 'pid=,pgid=,args='], { encoding: 'utf8' }).split('\n');
  return lines
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => Number(f[1]) === pgid)
    .map((f) => `${f[0]} ${f.slice(2).join(' ')}`);
}

it('SIGINT to a test run mid-test (as Ctrl-C sends it) ends every process it started within seconds', async () => {
  // A group of its own, as a terminal's foreground job: the signal goes to every member.
  const run = spawn(process.execPath, [VITEST, 'run', '--config', 'test/fixtures/interrupted/vitest.config.ts'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = run.pid!;
  let out = '';
  run.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  run.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  try {
    const deadline = Date.now() + 60_000;
    while (!out.includes('HOLDING')) {
      if (run.exitCode !== null || Date.now() > deadline) throw new Error(`the fixture did not get going:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = groupMembers(pgid);
    // vitest, its fork, the redis-server and the two services at least.
    expect(
      before.filter((p) => p.includes('dist/cli.js start')),
      before.join('\n'),
    ).toHaveLength(2);
    expect(
      before.some((p) => p.includes('redis-server')),
      before.join('\n'),
    ).toBe(true);
    process.kill(-pgid, 'SIGINT');
    // Bounded: 10 s is far below the 40 s a running service used to linger (and the for ever of
    // one starting up), and far above what the kill takes on a loaded machine.
    let left = groupMembers(pgid);
    for (const until = Date.now() + 10_000; left.length > 0 && Date.now() < until; left = groupMembers(pgid))
      await new Promise((r) => setTimeout(r, 200));
    expect(left, `still running 10 s after SIGINT:\n${left.join('\n')}`).toEqual([]);
  } finally {
    for (const line of groupMembers(pgid)) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
  }
});
