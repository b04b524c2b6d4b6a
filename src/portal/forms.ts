// Portal form fields to the tenant API's input, pure. A form sends text; this turns it into the
// same JSON-shaped input the API takes, so both go through the same checks (endpoint-input.ts,
// then the registration rules).

export type Form = Readonly<Record<string, unknown>>;

/** A single text field ('' when absent; a repeated field counts as absent). */
export function field(form: Form, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}

/** "Name: value" per line → headers, or the problems of lines that are not that. */
export function parseHeaderLines(text: string): { headers: Record<string, string>; problems: string[] } {
  const headers: Record<string, string> = {};
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      problems.push(`field "headers": line ${i + 1} is not "Name: value"`);
      return;
    }
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  });
  return { headers, problems };
}

/** Event types separated by commas, spaces or new lines. */
export function parseEventList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export interface EndpointFormRules {
  creating: boolean;
  allowExpressions: boolean;
  /** The endpoint's scheme now (editing): the signature is sent only when it changes. */
  currentScheme?: string;
}

/**
 * The create or edit form as API input. Editing: an emptied description, filter or transform
 * is removed (null); creating: empty fields are left out so the defaults apply.
 */
export function endpointInputFromForm(
  form: Form,
  rules: EndpointFormRules,
): { input: Record<string, unknown>; problems: string[] } {
  const input: Record<string, unknown> = {};
  const problems: string[] = [];
  // What an emptied optional field becomes: left out (creating) or removed (editing).
  const removed = rules.creating ? undefined : null;
  if (rules.creating) input.id = field(form, 'id').trim();
  input.url = field(form, 'url').trim();
  const events = parseEventList(field(form, 'events'));
  if (events.length > 0 || !rules.creating) input.events = events;
  const description = field(form, 'description').trim();
  if (description !== '') input.description = description;
  else if (removed !== undefined) input.description = removed;
  const h = parseHeaderLines(field(form, 'headers'));
  problems.push(...h.problems);
  input.headers = h.headers;
  const scheme = field(form, 'scheme');
  if (scheme !== '' && scheme !== rules.currentScheme) input.signature = { scheme };
  if (rules.allowExpressions) {
    for (const k of ['filter', 'transform'] as const) {
      const v = field(form, k).trim();
      if (v !== '') input[k] = v;
      else if (removed !== undefined) input[k] = removed;
    }
  }
  return { input, problems };
}
