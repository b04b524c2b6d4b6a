// The printed table: one line per figure, with its target and pass/miss where there is one.
import { fmt } from './stats.mjs';

function pad(s, n) {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function formatTable(results) {
  const lines = [];
  const rows = [];
  for (const r of results) {
    if (r.error) {
      rows.push([r.scenario, 'ERROR', r.error, '', '']);
      continue;
    }
    r.rows.forEach((row, i) => {
      const value = typeof row.value === 'number' ? fmt(row.value, row.digits ?? 0) : String(row.value);
      const verdict = row.pass === undefined ? '' : row.pass ? 'pass' : 'MISS';
      rows.push([
        i === 0 ? r.scenario : '',
        row.metric,
        value + (row.unit ? ` ${row.unit}` : ''),
        row.target ?? '',
        verdict,
      ]);
    });
  }
  const header = ['scenario', 'figure', 'value', 'target', ''];
  const widths = header.map((h, c) =>
    Math.min(c === 1 ? 70 : 40, Math.max(h.length, ...rows.map((row) => row[c].length))),
  );
  const line = (cells) =>
    cells
      .map((cell, c) => pad(cell, widths[c]))
      .join(' | ')
      .trimEnd();
  lines.push(line(header));
  lines.push(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of rows) lines.push(line(row));
  return lines.join('\n');
}

/** The verdicts, for the JSON file and the summary line. */
export function verdicts(results) {
  const out = [];
  for (const r of results)
    for (const row of r.rows ?? [])
      if (row.pass !== undefined)
        out.push({ scenario: r.scenario, figure: row.metric, value: row.value, target: row.target, pass: row.pass });
  return out;
}
