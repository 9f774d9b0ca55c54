/**
 * TLS material from a certificate directory, as containers/image and Docker read it:
 * `*.crt` files are extra CAs (added to the system ones), `*.cert` + `*.key` pairs are client
 * certificates; a `.cert` without its `.key` (or the reverse) is an error.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { FerryError } from '../errors.js';

export interface TLSMaterial {
  /** The system CAs plus the directory's `*.crt`; undefined when the directory adds none. */
  ca?: string[];
  cert?: string;
  key?: string;
}

export async function loadCertDir(dir: string): Promise<TLSMaterial> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new FerryError('INVALID_CONFIG', `cannot read certificate directory ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const extraCAs: string[] = [];
  const material: TLSMaterial = {};
  for (const name of names) {
    if (name.endsWith('.crt')) {
      extraCAs.push(await readFile(join(dir, name), 'utf8'));
    } else if (name.endsWith('.cert')) {
      const keyName = `${name.slice(0, -'.cert'.length)}.key`;
      if (!names.includes(keyName)) throw missingPair(dir, keyName, name);
      // containers/image uses every pair; one client identity is all a TLS handshake presents.
      if (material.cert === undefined) {
        material.cert = await readFile(join(dir, name), 'utf8');
        material.key = await readFile(join(dir, keyName), 'utf8');
      }
    } else if (name.endsWith('.key')) {
      const certName = `${name.slice(0, -'.key'.length)}.cert`;
      if (!names.includes(certName)) throw missingPair(dir, certName, name);
    }
  }
  if (extraCAs.length > 0) material.ca = [...rootCertificates, ...extraCAs];
  return material;
}

function missingPair(dir: string, missing: string, present: string): FerryError {
  return new FerryError('INVALID_CONFIG', `certificate directory ${dir}: missing ${missing} for ${present}`, {
    details: { dir, missing },
  });
}
