/** Throw-away TLS certificates for test servers (registry, dockerd, token issuer), made with the real openssl. */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A new EC P-256 key, no passphrase. */
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface TestCA {
  certPath: string;
  keyPath: string;
}

/**
 * A self-signed certificate for `cn`, valid for two days, with `extensions` (`-addext` values such
 * as 'subjectAltName=IP:127.0.0.1'); written to `certPath`, its key to `keyPath`.
 */
export async function makeSelfSigned(
  cn: string,
  certPath: string,
  keyPath: string,
  extensions: readonly string[] = [],
): Promise<void> {
  await execFileAsync('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    ...extensions.flatMap((e) => ['-addext', e]),
    '-keyout',
    keyPath,
    '-out',
    certPath,
  ]);
}

/** A self-signed CA named `cn`, valid for two days, written to `certPath` and `keyPath`. */
export async function makeTestCA(cn: string, certPath: string, keyPath: string): Promise<TestCA> {
  await makeSelfSigned(cn, certPath, keyPath, [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certPath, keyPath };
}

/**
 * A certificate for `cn` signed by `ca`, valid for two days, with `extensions` (openssl x509v3
 * config lines such as 'extendedKeyUsage=serverAuth'); its key at `keyPath`, itself at `certPath`.
 */
export async function issueCertificate(
  ca: TestCA,
  cn: string,
  extensions: readonly string[],
  keyPath: string,
  certPath: string,
): Promise<void> {
  const csr = `${certPath}.csr`;
  const extFile = `${certPath}.ext`;
  await execFileAsync('openssl', ['req', '-new', ...EC_KEY, '-subj', `/CN=${cn}`, '-keyout', keyPath, '-out', csr]);
  await writeFile(extFile, [...extensions, ''].join('\n'));
  await execFileAsync('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certPath,
    '-CAkey',
    ca.keyPath,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    extFile,
    '-out',
    certPath,
  ]);
  await rm(csr);
  await rm(extFile);
}
