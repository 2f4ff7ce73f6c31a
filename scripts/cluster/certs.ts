/**
 * mTLS material made with `openssl`: a CA, one certificate for the services (frontend and internode,
 * server and client usage, for `localhost` and `127.0.0.1`) and one client certificate for the system
 * worker, the Web UI server and AegisPay's clients and workers.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterCerts } from './state';

const DAYS = '825';
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** Issues `<name>.pem` / `<name>-key.pem` signed by the CA in `dir`, with the given extensions. */
function issue(dir: string, name: string, subject: string, extensions: string[]): void {
  openssl(['req', ...EC_KEY, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject], dir);
  writeFileSync(join(dir, `${name}.ext`), extensions.join('\n') + '\n');
  openssl(
    [
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial'],
      ...['-out', `${name}.pem`, '-days', DAYS, '-sha256', '-extfile', `${name}.ext`],
    ],
    dir,
  );
  chmodSync(join(dir, `${name}-key.pem`), 0o600);
}

export function generateCerts(dir: string): ClusterCerts {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  openssl(
    [
      ...['req', '-x509', ...EC_KEY, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', DAYS],
      ...['-subj', '/CN=AegisPay local cluster CA'],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ],
    dir,
  );
  const leaf = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment'];
  issue(dir, 'server', '/CN=localhost', [
    ...leaf,
    'extendedKeyUsage=serverAuth,clientAuth',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  issue(dir, 'client', '/CN=aegispay-client', [...leaf, 'extendedKeyUsage=clientAuth']);
  return {
    caCert: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client-key.pem'),
    serverName: 'localhost',
  };
}
