// The package as a user installs it: `npm pack`, installed into an empty project from the
// tarball (its dependencies from npm's cache, or the registry), and the TypeScript receiver
// snippet of docs/wire-contract.md compiled against it with `tsc --noEmit` under `strict`.
// Before, the package shipped no declarations and the snippet failed with TS7016 for
// `webhook-sender/verify` (issue 18, item 9). Also: the docs the README links to are in it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { snippet } from './helpers/readme-verifiers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const dir = mkdtempSync(join(tmpdir(), 'wss-pack-'));
const consumer = join(dir, 'consumer');
let files: string[] = [];

const versionOf = (pkg: string) =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

beforeAll(() => {
  // dist/ is built (`npm test` builds first); --ignore-scripts: no second build here.
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT,
      encoding: 'utf8',
    }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = packed!.files.map((f) => f.path);
  execFileSync('mkdir', ['-p', consumer]);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // The snippet is an express handler: its types come from @types/express, as in a user's project.
  execFileSync(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--no-package-lock',
      join(dir, packed!.filename),
      `@types/node@${versionOf('@types/node')}`,
      `@types/express@${versionOf('@types/express')}`,
    ],
    { cwd: consumer, stdio: 'ignore', timeout: 240_000 },
  );
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tsc(sources: Record<string, string>): string {
  for (const [name, text] of Object.entries(sources)) writeFileSync(join(consumer, name), text);
  const tsconfig = {
    compilerOptions: {
      strict: true,
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    },
    files: Object.keys(sources),
  };
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify(tsconfig));
  try {
    execFileSync(process.execPath, [TSC, '-p', consumer], { cwd: consumer, encoding: 'utf8' });
    return '';
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
}

it('the packed package ships declarations: the documented TypeScript receiver compiles against it', () => {
  const ts = snippet('ts');
  const imports = ts.split('\n').filter((l) => l.startsWith('import '));
  const body = ts.split('\n').filter((l) => !l.startsWith('import '));
  expect(imports).toEqual(["import { verifySignature, WebhookVerificationError } from 'webhook-sender/verify';"]);
  // The snippet's `req` and `res` are an express handler's, as its first comment says.
  const receiver = [
    ...imports,
    "import type { Request, Response } from 'express';",
    'export function handler(req: Request, res: Response) {',
    ...body,
    '}',
  ].join('\n');
  // And the root export is typed, not `any`: a wrong use must be an error.
  const root = [
    "import { sign, parseEndpoint, verifySignature, type EndpointConfig } from 'webhook-sender';",
    "const sig: string = sign('secret', '1700000000', '{}');",
    "const ep: EndpointConfig = parseEndpoint({ id: 'a', url: 'https://x.example/', secret: 's'.repeat(16) });",
    '// @ts-expect-error: a number is not a secret',
    "verifySignature({ secret: 1, body: '', timestamp: '1', signature: sig });",
    'export { ep };',
  ].join('\n');
  expect(tsc({ 'receiver.ts': receiver, 'root.ts': root })).toBe('');
  expect(files).toContain('dist/verify/index.d.ts');
  expect(files).toContain('dist/index.d.ts');
  // The Grafana dashboard and the alert rules ship with the package (docs/observability.md).
  expect(files).toContain('deploy/grafana/webhook-sender.json');
  expect(files).toContain('deploy/prometheus/alerts.yml');
});

it('the docs the README links to are in the package', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const linked = [...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]!);
  expect(linked.length).toBeGreaterThan(10);
  for (const doc of new Set(linked)) expect(files, doc).toContain(doc);
});
