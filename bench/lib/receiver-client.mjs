// The bench's side of the receiver process: fork it and talk to it over IPC.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export async function startReceiverProcess() {
  const child = fork(fileURLToPath(new URL('./receiver.mjs', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 0;
  const pending = new Map();
  child.on('message', (msg) => {
    const p = pending.get(msg.reqId);
    if (!p) return;
    pending.delete(msg.reqId);
    if (msg.error) p.reject(new Error(`receiver: ${msg.error}`));
    else p.resolve(msg);
  });
  child.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error('receiver process exited'));
    pending.clear();
  });
  const call = (cmd, args = {}) =>
    new Promise((resolve, reject) => {
      const reqId = ++next;
      pending.set(reqId, { resolve, reject });
      child.send({ ...args, cmd, reqId });
    });
  return {
    pid: child.pid,
    /** Opens `count` listeners labelled `label`; returns their ports. */
    async listen(label, count = 1, delayMs = 0) {
      return (await call('listen', { label, count, delayMs })).ports;
    },
    reset: () => call('reset'),
    /** Per label: requests, distinct event ids, firstAt/lastAt (wall ms), latencies (ms) if asked. */
    async stats(latencies = false) {
      return (await call('stats', { latencies })).groups;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await call('close').catch(() => undefined);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
