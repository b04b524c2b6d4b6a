// The import rules of docs/architecture.md, checked on the source: every relative import of
// src/ (static, type-only, re-export and dynamic import() alike, read with TypeScript's own
// pre-parser) becomes an edge between two files and between their rooms. A cycle of files or an
// edge the rules forbid fails, naming the files. The checker itself is tried on a small graph
// with known answers first, so a rule that silently checked nothing would fail too.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** The modules loose at the top of src/ and their rooms. */
const TOP: Readonly<Record<string, string>> = {
  'cli.ts': 'entry',
  'index.ts': 'entry',
  'config.ts': 'config',
  'roles.ts': 'roles',
};
/** Entry points (the `wss` binary, the package's API, the demo): nothing in src/ imports them. */
const ENTRIES = new Set(['entry', 'demo']);
/**
 * Rooms every role shares. They import each other and lib/, never a role, cli/ or an entry point.
 * `sources` is producers/sources/: the bridge reads through it, and every role publishes through it.
 */
const SHARED = new Set([
  'config',
  'redis',
  'queue',
  'tenants',
  'signing',
  'expressions',
  'endpoints',
  'history',
  'roles',
  'sources',
  'tracing',
]);
/** Rooms that import nothing of ours outside themselves. */
const ALONE = new Set(['lib', 'verify']);
/** The rooms that do one job each; they import the shared rooms, and one another only by these edges. */
const ROLES = new Set(['producers', 'workers', 'dashboard', 'probes', 'replay', 'tenant-api', 'portal', 'access']);
/**
 * The dashboard role's rooms: the operator's dashboard, the tenant API and portal it serves, and
 * the tenant credentials (access/) they check. They run in one process and import one another.
 */
const DASHBOARD_ROOMS = new Set(['dashboard', 'tenant-api', 'portal', 'access']);
const ROLE_EDGES: ReadonlyArray<{ from: string; to: string }> = [
  // The dashboard serves the probe routes too, and the recover and replay routes.
  { from: 'dashboard', to: 'probes' },
  { from: 'dashboard', to: 'replay' },
  // Replay plans with the bridge's own pure planner, and nothing else of the bridge.
  { from: 'replay', to: 'producers/plan-batch.ts' },
  // A tenant recovers and replays its own deliveries with the operator's operations.
  { from: 'tenant-api', to: 'replay' },
];
/** Every room; a file anywhere else fails the test until the rules (and the doc) place it. */
const ROOMS = new Set([...ENTRIES, ...SHARED, ...ALONE, ...ROLES, 'cli']);

/** The room of a path under src/: its first folder (producers/sources/ is a room of its own), or TOP's word. */
function roomOf(file: string): string {
  if (file.startsWith('producers/sources/')) return 'sources';
  const [first, ...rest] = file.split('/');
  return rest.length === 0 ? (TOP[first!] ?? first!) : first!;
}

/** Why an import from one file of src/ to another is forbidden, or undefined when it is allowed. */
function forbidden(from: string, to: string): string | undefined {
  const a = roomOf(from);
  const b = roomOf(to);
  if (a === b) return undefined;
  if (ENTRIES.has(b)) return `${to} is an entry point: nothing imports it`;
  if (b === 'cli' && !ENTRIES.has(a)) return 'only the entry points (cli.ts, demo/) import cli/';
  if (ALONE.has(a)) return `${a}/ imports nothing of ours outside itself`;
  if (SHARED.has(a) && !SHARED.has(b) && b !== 'lib') return `${a} is shared by every role: it must not import ${b}`;
  if (DASHBOARD_ROOMS.has(a) && DASHBOARD_ROOMS.has(b)) return undefined;
  if (ROLES.has(a) && ROLES.has(b) && !ROLE_EDGES.some((e) => e.from === a && (e.to === b || e.to === to)))
    return `${a} must not import ${b} (roles meet in the shared rooms)`;
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** file → the files of ours it imports (paths relative to src/, '/'-separated). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const abs of sourceFiles(SRC)) {
    const file = relative(SRC, abs).split('\\').join('/');
    const info = ts.preProcessFile(readFileSync(abs, 'utf8'), true, true);
    const deps = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => posix.normalize(posix.join(dirname(file), spec)).replace(/\.js$/, '.ts'));
    graph.set(file, deps);
  }
  return graph;
}

/** Every cycle of files found by a depth-first walk (each as the files in order, first repeated). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') found.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d) && graph.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return found;
}

describe('the import rules (docs/architecture.md)', () => {
  it('the checker gives known answers on a small graph', () => {
    expect(roomOf('cli.ts')).toBe('entry');
    expect(roomOf('config.ts')).toBe('config');
    expect(roomOf('cli/start.ts')).toBe('cli');
    expect(roomOf('producers/plan-batch.ts')).toBe('producers');
    expect(roomOf('producers/sources/redis-stream/claim.ts')).toBe('sources');
    expect(forbidden('producers/sources/index.ts', 'producers/bridge.ts')).toMatch(/shared by every role/);
    expect(forbidden('workers/worker.ts', 'producers/sources/index.ts')).toBeUndefined();
    expect(forbidden('workers/worker.ts', 'producers/bridge.ts')).toMatch(/must not import producers/);
    expect(forbidden('queue/job.ts', 'workers/worker.ts')).toMatch(/shared by every role/);
    expect(forbidden('lib/log.ts', 'config.ts')).toMatch(/imports nothing of ours/);
    expect(forbidden('workers/worker.ts', 'cli/common.ts')).toMatch(/only the entry points/);
    expect(forbidden('dashboard/server.ts', 'cli.ts')).toMatch(/entry point/);
    expect(forbidden('queue/job.ts', 'demo/receiver.ts')).toMatch(/entry point/);
    expect(forbidden('demo/demo.ts', 'cli/start.ts')).toBeUndefined();
    expect(forbidden('cli.ts', 'cli/common.ts')).toBeUndefined();
    expect(forbidden('verify/index.ts', 'signing/sign.ts')).toMatch(/imports nothing of ours/);
    expect(forbidden('dashboard/server.ts', 'workers/worker.ts')).toMatch(/must not import workers/);
    expect(forbidden('replay/replay.ts', 'producers/bridge.ts')).toMatch(/must not import producers/);
    expect(forbidden('replay/replay.ts', 'producers/plan-batch.ts')).toBeUndefined();
    expect(forbidden('cli/start.ts', 'producers/bridge.ts')).toBeUndefined();
    expect(forbidden('workers/worker.ts', 'queue/job.ts')).toBeUndefined();
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(g)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(cycles(new Map([['a.ts', ['b.ts']]]))).toEqual([]);
  });

  const graph = importGraph();

  it('reads every module of src/ and the imports between them', () => {
    expect(graph.size).toBeGreaterThan(100);
    for (const file of graph.keys()) expect(ROOMS.has(roomOf(file)), `${file} is in no room the rules know`).toBe(true);
    // At most 8 modules loose at the top of src/ (issue 17).
    expect([...graph.keys()].filter((f) => !f.includes('/')).length).toBeLessThanOrEqual(8);
    const edges = [...graph.values()].flat();
    for (const to of edges) expect(graph.has(to), `an import names ${to}, which is not a file of src/`).toBe(true);
    // Type-only and dynamic imports count: both kinds are in src/ today.
    expect(graph.get('cli/start.ts')).toContain('producers/bridge.ts');
    expect(graph.get('history/store.ts')).toContain('history/record-attempt.ts');
  });

  it('has no import cycle', () => {
    expect(cycles(graph).map((c) => c.join(' → '))).toEqual([]);
  });

  it('has no forbidden edge', () => {
    const bad: string[] = [];
    for (const [from, deps] of graph)
      for (const to of deps) {
        const why = forbidden(from, to);
        if (why !== undefined) bad.push(`${from} → ${to}: ${why}`);
      }
    expect(bad).toEqual([]);
  });
});
