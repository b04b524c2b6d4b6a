// The generated dashboard password of a start without a terminal lives in
// <WSS_DATA_DIR>/dashboard-password and is used again: a second `wss start` in the same folder
// once replaced the file under a running dashboard, which then refused the password in it
// (issue 18, item 10). Real processes, a real Redis.
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filePassword } from '../src/dashboard/password-notice.js';
import { basic } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';
import { spawnWss, type WssProcess } from './helpers/wss-process.js';

const { redis } = useTestRedis();

const boardUrl = (svc: WssProcess) => /"url":"(http:\/\/127\.0\.0\.1:\d+)\/admin\/queues"/.exec(svc.output())?.[1];
const status = async (url: string, password: string) =>
  (await fetch(`${url}/api/tenants`, { headers: { authorization: basic('admin', password) } })).status;

describe('the generated password file', () => {
  it('a second start in the same folder uses the password in the file; the running dashboard keeps accepting it', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'wss-pw-two-')), 'data');
    const env = { REDIS_URL: redis().url, WSS_PREFIX: 'pwtwo', PORT: '0', LOG_LEVEL: 'info', WSS_DATA_DIR: dataDir };
    const file = join(dataDir, 'dashboard-password');
    const first = spawnWss(['start', '--role', 'dashboard'], env);
    let second: WssProcess | undefined;
    try {
      await first.waitForOutput(/generated password is in/);
      const password = readFileSync(file, 'utf8').trim();
      second = spawnWss(['start', '--role', 'dashboard'], env);
      await second.waitForOutput(/using the password kept in/);
      expect(readFileSync(file, 'utf8').trim()).toBe(password);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      for (const svc of [first, second]) {
        expect(await status(boardUrl(svc)!, password)).toBe(200);
        expect(svc.output()).not.toContain(password);
      }
    } finally {
      expect(await first.kill('SIGTERM')).toBe(0);
      if (second) expect(await second.kill('SIGTERM')).toBe(0);
    }
  });

  it('a file others may read or write, or without a usable password, is not used but replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wss-pw-bad-'));
    const file = join(dir, 'dashboard-password');
    writeFileSync(file, 'planted-by-someone-else\n');
    chmodSync(file, 0o666);
    const open = await filePassword(dir, 'fresh-password-0123456789');
    expect(open).toMatchObject({ password: 'fresh-password-0123456789', file, kept: false });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await filePassword(dir, 'another-one-0123456789')).toMatchObject({
      password: 'fresh-password-0123456789',
      kept: true,
    });
    writeFileSync(file, 'short\n', { mode: 0o600 });
    expect((await filePassword(dir, 'third-one-0123456789')).password).toBe('third-one-0123456789');
  });
});
