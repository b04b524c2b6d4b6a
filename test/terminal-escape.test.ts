// lib/terminal.ts, pure: control characters shown as visible escapes (known answers).
import { describe, expect, it } from 'vitest';
import { escapeControls, escapeControlsByLine, terminalJson } from '../src/lib/terminal.js';

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;
const HOSTILE = '\x1b]0;pwned\x07\x1b[2J\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\\x9b31m\u202eafed';

describe('escapeControls', () => {
  it('shows each control character as a visible escape and leaves the rest alone', () => {
    expect(escapeControls('plain café ✓ text')).toBe('plain café ✓ text');
    expect(escapeControls('\x1b]0;t\x07')).toBe('\\x1b]0;t\\x07');
    expect(escapeControls('a\nb\tc\r\x00\x7f')).toBe('a\\x0ab\\x09c\\x0d\\x00\\x7f');
    expect(escapeControls('\x9b2J')).toBe('\\x9b2J');
    expect(escapeControls('x\u202ey\u2028z\u200b')).toBe('x\\u202ey\\u2028z\\u200b');
    expect(escapeControls(HOSTILE)).not.toMatch(RAW_CONTROL);
  });

  it('escapeControlsByLine keeps the line breaks; terminalJson stays JSON of the same value', () => {
    expect(escapeControlsByLine('one \x1b[2J\ntwo')).toBe('one \\x1b[2J\ntwo');
    const value = { response: HOSTILE, n: 1 };
    const text = terminalJson(value, 2);
    expect(text).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(text)).toEqual(value);
  });
});
