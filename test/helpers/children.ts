// Every process a test starts (redis-servers, `wss` services, the demo) is tracked here and
// killed when the test process ends, however it ends. Ctrl-C of `npm test` sends SIGINT to the
// whole process group: the test processes died at once while their `wss` children, whose Redis
// had died in the same instant, spent their shutdown grace (up to 40 s) waiting on it, and a
// child in the middle of start-up waited for ever. A test that throws before its own cleanup
// left the same orphans behind.
import { trackSpawns } from './redis-procs.mjs';
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

function killAll(): void {
  for (const p of live) {
    try {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

let hooked = false;
function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      // Then die of the signal as before (this listener is gone; any other stays).
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

/** Registers `proc` to be killed when this test process ends; returns it. */
export function tracked<P extends ChildProcess>(proc: P): P {
  hook();
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  return proc;
}

/** SIGKILLs every tracked process still running (after a test file, for what a test left). */
export function killTracked(): void {
  killAll();
}

// Every redis-server the shared launcher starts (redis-procs.mjs: single servers and cluster nodes).
trackSpawns(tracked);
