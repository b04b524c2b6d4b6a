// A throwaway CA and a server certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1), made
// with openssl in a temp dir, for TLS-only redis-servers: the service trusts the CA the way a
// user would, through Node's NODE_EXTRA_CA_CERTS.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  /** The CA's certificate (PEM file): what NODE_EXTRA_CA_CERTS points at. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The CA's PEM, for ioredis `tls: { ca }` in the test's own clients. */
  ca: Buffer;
  close(): void;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (${r.status}): ${r.error?.message ?? ''}${r.stderr}`);
}

/** Synchronous, so a test file can make them at load time and hand them to useTestCluster. */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'wss-test-tls-'));
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  const days = ['-days', '1'];
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    ...days,
    '-subj',
    '/CN=wss-test-ca',
  ]);
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    ...days,
    '-extfile',
    'ext.cnf',
  ]);
  const caFile = join(dir, 'ca.pem');
  return {
    dir,
    caFile,
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    ca: readFileSync(caFile),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * redis-server arguments for a TLS-only server on `port` (after spawnRedisServer's own `--port`,
 * so `--port 0` wins: no plain-text port at all). Clients need no certificate of their own.
 */
export function tlsServerArgs(certs: TestCerts, port: number): string[] {
  return [
    '--port',
    '0',
    '--tls-port',
    String(port),
    '--tls-cert-file',
    certs.certFile,
    '--tls-key-file',
    certs.keyFile,
    '--tls-ca-cert-file',
    certs.caFile,
    '--tls-auth-clients',
    'no',
  ];
}
