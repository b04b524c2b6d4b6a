// A private PostgreSQL cluster's commands, shared by the test helper (postgres.ts) and the bench
// source (bench/lib/source-postgres-outbox.mjs), as redis-procs.mjs is for Redis: find the
// server's binaries, run them as the `postgres` user when we are root (the server refuses to
// run as root), and initdb a cluster into a fresh temp dir that user can reach.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The newest installed server's binaries (Debian: /usr/lib/postgresql/<version>/bin), or WSS_TEST_PG_BIN. */
export function pgBin() {
  const given = process.env['WSS_TEST_PG_BIN'];
  if (given) return given;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'initdb')));
  if (!bin)
    throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  return bin;
}

/** Runs one of the server's commands (as `postgres` when root); a failure quotes the server log's end. */
export async function pgExec(cmd, args, logFile) {
  const [c, a] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  try {
    await run(c, a, { timeout: 120_000 });
  } catch (err) {
    let log = '';
    try {
      if (logFile) log = `\nserver log:\n${readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}`;
    } catch {
      // no log yet
    }
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr || err.message}${log}`);
  }
}

/**
 * initdb (trust auth, user postgres, UTF8, C locale) into a new dir under the temp dir, with a
 * socket dir beside it; `extra`: more initdb arguments (the tests pass --no-sync).
 */
export async function initPgCluster(prefix, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  if (process.getuid?.() === 0) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    for (const p of [dir, sock]) chownSync(p, uid, gid);
  }
  await pgExec(join(pgBin(), 'initdb'), [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    ...extra,
    '-E',
    'UTF8',
    '--locale=C',
  ]);
  return { dir, data, sock };
}
