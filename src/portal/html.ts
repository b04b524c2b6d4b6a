// HTML built so that every value is text: the `html` template escapes each interpolated value
// unless it is itself the result of `html` (already safe), arrays are joined, and nothing
// else is trusted. Receivers' response bodies, endpoint URLs, descriptions and headers all
// pass through here, so a hostile one is shown as the characters it is and never runs.

export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Value = SafeHtml | string | number | boolean | null | undefined | readonly Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.text;
  if (Array.isArray(v)) return (v as readonly Value[]).map(render).join('');
  return escapeHtml(String(v));
}

/** A template whose interpolations are escaped (SafeHtml and arrays of it are kept as they are). */
export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => (out += render(v) + strings[i + 1]!));
  return new SafeHtml(out);
}

/** An attribute present or not: `html\`<input ${when(x, 'checked')}>\``. */
export function when(cond: boolean, attr: string): SafeHtml {
  return new SafeHtml(cond && /^[a-z-]+$/.test(attr) ? attr : '');
}
