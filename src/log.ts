import { pino, type Logger } from 'pino';

export type { Logger };

// Redaction is a second line of defence: no code path is meant to log a secret or a body.
const REDACT = ['secret', '*.secret', '*.*.secret', 'body', '*.body', 'headers.authorization', '*.headers.authorization', 'password', '*.password'];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { pid: process.pid }, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}
