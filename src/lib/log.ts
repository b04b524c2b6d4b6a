// The one logger factory: pino JSON lines on buffered stdout, secrets and bodies redacted as a
// second line of defence.
import { pino, type Logger } from 'pino';

export type { Logger };

// Redaction is a second line of defence: no code path is meant to log a secret or a body.
const REDACT = [
  'secret',
  '*.secret',
  '*.*.secret',
  'body',
  '*.body',
  'headers.authorization',
  '*.headers.authorization',
  'password',
  '*.password',
];

type AsyncStdout = ReturnType<typeof pino.destination>;
const FLUSH_EVERY_MS = 200;
let stdout: AsyncStdout | undefined;

/**
 * Buffered, asynchronous stdout. The worker logs a line per delivery; a write(2) per line
 * (pino's default) costs the worker ~45 % more CPU per delivery at 5,000/s (docs/performance.md).
 * Lines leave in writes of ≥ 4 KB or at most FLUSH_EVERY_MS after they were
 * logged; flushLogs() runs on exit.
 */
function sharedStdout(): AsyncStdout {
  if (!stdout) {
    // Lines collect up to 4 KB per write; the timer bounds how long a quiet line waits.
    const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 });
    stdout = dest;
    setInterval(() => {
      try {
        dest.flush();
      } catch {
        // stdout gone: nothing to do
      }
    }, FLUSH_EVERY_MS).unref();
    process.once('exit', () => flushLogs());
  }
  return stdout;
}

/** Writes out buffered log lines (call before process.exit). */
function flushLogs(): void {
  try {
    stdout?.flushSync();
  } catch {
    // Nothing to flush, or stdout is gone: exiting anyway.
  }
}

/** Waits (≤ 1 s) for an in-flight write, then flushes: use before a planned process.exit. */
export async function drainLogs(): Promise<void> {
  const dest = stdout as (AsyncStdout & { _writing?: boolean }) | undefined;
  if (dest?._writing)
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1_000);
      dest.once('drain', () => {
        clearTimeout(t);
        resolve();
      });
    });
  flushLogs();
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { pid: process.pid }, redact: { paths: REDACT, censor: '[redacted]' } },
    destination ?? sharedStdout(),
  );
}
