// Runs the built CLI (dist/cli.js; `npm test` builds first) as a child process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tracked } from './children.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Env for a child: only what the test gives plus PATH, so the machine's env cannot leak in. */
export function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...env };
}

/** Env for a `wss start` child on its own prefix and stream, delivering to 127.0.0.1, logging at info. */
export function serviceEnv<E extends Record<string, string>>(redisUrl: string, prefix: string, extra: E = {} as E) {
  return {
    REDIS_URL: redisUrl,
    WSS_PREFIX: prefix,
    WSS_STREAM: `${prefix}:events`,
    WSS_ALLOW_PRIVATE_URLS: 'true',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

export function runWss(args: string[], env: Record<string, string>, input?: string): RunResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: childEnv(env),
    input,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface WssProcess {
  proc: ChildProcess;
  output(): string;
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends the signal and resolves with the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnWss(args: string[], env: Record<string, string>): WssProcess {
  const proc = tracked(
    spawn(process.execPath, [CLI, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return {
    proc,
    output: () => out,
    async waitForOutput(re, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (proc.exitCode !== null) throw new Error(`wss exited (${proc.exitCode}) before printing ${re}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`wss did not print ${re} within ${timeoutMs} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return out;
    },
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}
