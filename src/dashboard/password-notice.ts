// Tells the operator a generated dashboard password without putting it in a log line (logs are
// shipped, indexed and kept). On a terminal it goes to stderr once; otherwise (containers,
// CI, `npm start` piped) into a file only the service's user can read, and the log names the
// file. That file is kept and used again: a second `wss start` in the same folder (a second
// dashboard, or a restart) once replaced it with its own password, and the running dashboard
// then refused the password in the file.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

export interface Terminal {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

const PASSWORD_FILE = 'dashboard-password';

/** The password a dashboard without a terminal uses, and where it is kept. */
export interface FilePassword {
  password: string;
  /** Undefined when it could not be saved (`error` says why). */
  file: string | undefined;
  /** True when the file already held it (an earlier or a concurrent start). */
  kept: boolean;
  error?: string;
}

/** The file's password if the file is this user's, readable by no one else, and holds one. */
async function ownPassword(file: string): Promise<string | undefined> {
  try {
    const s = await stat(file);
    if (!s.isFile() || (s.mode & 0o077) !== 0 || s.uid !== process.getuid?.()) return undefined;
    const text = (await readFile(file, 'utf8')).trim();
    return /^\S{12,512}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The password in `<dataDir>/dashboard-password` when that file is usable (this user's, mode
 * 0600 or stricter, one word of 12+ characters), else `fresh`, written there (mode 0600).
 */
export async function filePassword(dataDir: string, fresh: string): Promise<FilePassword> {
  const file = resolve(dataDir, PASSWORD_FILE);
  const kept = await ownPassword(file);
  if (kept !== undefined) return { password: kept, file, kept: true };
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // An unusable file goes first: writeFile's mode only applies to a file it creates.
    await rm(file, { force: true });
    await writeFile(file, `${fresh}\n`, { mode: 0o600, flag: 'wx' });
    return { password: fresh, file, kept: false };
  } catch (err) {
    // Another dashboard starting at the same moment wrote it first: use that one.
    const raced = (err as NodeJS.ErrnoException).code === 'EEXIST' ? await ownPassword(file) : undefined;
    if (raced !== undefined) return { password: raced, file, kept: true };
    return { password: fresh, file: undefined, kept: false, error: errorMessage(err) };
  }
}

interface PasswordNotice {
  user: string;
  password: string;
  url: string;
  dataDir: string;
  stderr: Terminal;
  log: Logger;
  /** Without a terminal: what filePassword did. */
  saved?: FilePassword | undefined;
}

/** Where the password went: 'terminal', the file's path, or undefined if it could not be saved. */
export function announceGeneratedPassword(n: PasswordNotice): string | undefined {
  const fields = { url: n.url, user: n.user };
  if (n.stderr.isTTY || n.saved === undefined) {
    n.stderr.write(
      `dashboard: generated password for user "${n.user}": ${n.password}\n(set WSS_DASHBOARD_PASSWORD to choose one; this is shown once)\n`,
    );
    n.log.warn(
      fields,
      'dashboard: WSS_DASHBOARD_PASSWORD is not set; the generated password was printed once to this terminal (stderr)',
    );
    return 'terminal';
  }
  const { file, kept, error } = n.saved;
  if (file === undefined) {
    n.log.error(
      { ...fields, file: resolve(n.dataDir, PASSWORD_FILE), err: error },
      'dashboard: WSS_DASHBOARD_PASSWORD is not set and the generated password could not be saved; set WSS_DASHBOARD_PASSWORD and restart',
    );
    return undefined;
  }
  n.log.warn(
    { ...fields, file },
    kept
      ? `dashboard: WSS_DASHBOARD_PASSWORD is not set; using the password kept in ${file} (delete the file for a new one)`
      : `dashboard: WSS_DASHBOARD_PASSWORD is not set; the generated password is in ${file} (mode 0600)`,
  );
  return file;
}
