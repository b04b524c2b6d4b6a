// Tells the operator a generated dashboard password without putting it in a log line (logs are
// shipped, indexed and kept). On a terminal it goes to stderr once; otherwise (containers,
// CI, `npm start` piped) into a file only the service's user can read, and the log names the
// file.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

export interface Terminal {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

const PASSWORD_FILE = 'dashboard-password';

interface PasswordNotice {
  user: string;
  password: string;
  url: string;
  dataDir: string;
  stderr: Terminal;
  log: Logger;
}

/** Where the password went: 'terminal', the file's path, or undefined if it could not be saved. */
export async function announceGeneratedPassword(n: PasswordNotice): Promise<string | undefined> {
  const fields = { url: n.url, user: n.user };
  if (n.stderr.isTTY) {
    n.stderr.write(
      `dashboard: generated password for user "${n.user}": ${n.password}\n(set WSS_DASHBOARD_PASSWORD to choose one; this is shown once)\n`,
    );
    n.log.warn(
      fields,
      'dashboard: WSS_DASHBOARD_PASSWORD is not set; the generated password was printed once to this terminal (stderr)',
    );
    return 'terminal';
  }
  const file = resolve(n.dataDir, PASSWORD_FILE);
  try {
    await mkdir(n.dataDir, { recursive: true, mode: 0o700 });
    // Removed first: writeFile's mode only applies to a file it creates.
    await rm(file, { force: true });
    await writeFile(file, `${n.password}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    n.log.error(
      { ...fields, file, err: errorMessage(err) },
      'dashboard: WSS_DASHBOARD_PASSWORD is not set and the generated password could not be saved; set WSS_DASHBOARD_PASSWORD and restart',
    );
    return undefined;
  }
  n.log.warn(
    { ...fields, file },
    `dashboard: WSS_DASHBOARD_PASSWORD is not set; the generated password is in ${file} (mode 0600)`,
  );
  return file;
}
