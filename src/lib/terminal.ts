// Text from outside (a receiver's answer, event and tenant data, error reasons) printed on an
// operator's terminal must not drive it: an ESC or 8-bit CSI starts a sequence that can set
// the window title, clear the screen, plant an OSC 8 link or move the cursor over earlier
// lines. Every human-readable CLI output passes such text through `escapeControls`, which
// shows each control character as a visible escape instead. JSON output (`--json`) escapes
// them by JSON's own rules; `terminalJson` adds the few JSON leaves raw. Pure.

// C0 controls, DEL, C1 controls (U+0080–U+009F: 8-bit CSI, OSC, …), and the Unicode format
// characters that reorder or hide text on display (bidi overrides and isolates, line and
// paragraph separators, zero-width marks).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

const hex = (c: string, width: number) => c.charCodeAt(0).toString(16).padStart(width, '0');

/**
 * `s` with every control character shown as `\xHH` (below U+0100) or `\uHHHH`, e.g. ESC as
 * `\x1b`, BEL as `\x07`, newline as `\x0a`, U+202E as `\u202e`. Anything else is unchanged.
 */
export function escapeControls(s: string): string {
  return s.replace(CONTROLS, (c) => (c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

// What JSON.stringify leaves raw among the characters above (it escapes only U+0000–U+001F).
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** JSON.stringify(value, null, indent) with the controls JSON leaves raw escaped as `\uHHHH` (same value). */
export function terminalJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(RAW_IN_JSON, (c) => `\\u${hex(c, 4)}`);
}

/** escapeControls line by line: for our own multi-line texts (errors, stack traces) that quote outside data. */
export function escapeControlsByLine(s: string): string {
  return s.split('\n').map(escapeControls).join('\n');
}
