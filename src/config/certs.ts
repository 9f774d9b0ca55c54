/**
 * Per-registry TLS material from certs.d directories, as containers/image and Docker read them:
 * `*.crt` are extra CA certificates, `*.cert` + `*.key` (same base name) a client certificate pair.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { SecureContext } from 'node:tls';
import { FerryError } from '../errors.js';
import { deferredExtraCACertificates, extraCACertificatesVersion } from './extra-ca.js';
import { configHome, type Env, isMissingFile } from './paths.js';
import { readConfigFile } from './read-limited.js';

export interface CertDirOptions {
  /** `--cert-dir`: used alone, instead of the per-host directories. */
  certDir?: string;
  env?: Env;
}

export interface ClientCertificate {
  cert: Buffer;
  key: Buffer;
  /** The `.cert` file's path, for messages. */
  certPath: string;
}

export interface TLSFiles {
  /** CA certificates (PEM) from `*.crt`, in file-name order. */
  ca: Buffer[];
  /** The first client pair (file-name order), ready for undici's `connect` options. */
  cert?: Buffer;
  key?: Buffer;
  /** Every client pair found. */
  clientCertificates: ClientCertificate[];
}

/**
 * The directories that may hold TLS files for `hostPort` (`host[:port]`), in order: an explicit
 * directory alone; else `${XDG_CONFIG_HOME:-~/.config}/containers/certs.d/<hostPort>`,
 * `/etc/containers/certs.d/<hostPort>`, `/etc/docker/certs.d/<hostPort>`. Only the first that exists is used.
 */
export function certDirsFor(hostPort: string, opts: CertDirOptions = {}): string[] {
  if (opts.certDir !== undefined && opts.certDir !== '') return [opts.certDir];
  if (hostPort === '' || hostPort.includes('/') || hostPort === '.' || hostPort === '..') {
    throw new FerryError('INVALID_ARGUMENT', `"${hostPort}" is not a registry host[:port] for a certs.d lookup`);
  }
  const env = opts.env ?? process.env;
  return [
    join(configHome(env), 'containers', 'certs.d', hostPort),
    join('/etc/containers/certs.d', hostPort),
    join('/etc/docker/certs.d', hostPort),
  ];
}

/** The first of certDirsFor that exists, or undefined. */
export async function certDirFor(hostPort: string, opts: CertDirOptions = {}): Promise<string | undefined> {
  for (const dir of certDirsFor(hostPort, opts)) {
    try {
      if ((await stat(dir)).isDirectory()) return dir;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (isMissingFile(e) || code === 'EACCES' || code === 'EPERM') continue;
      throw e;
    }
  }
  return undefined;
}

function invalid(path: string, what: string): FerryError {
  return new FerryError('INVALID_CONFIG', `certificate directory ${path}: ${what}`, { details: { path } });
}

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readConfigFile(path, (limit) => invalid(path, `is larger than the ${limit}-byte limit`));
  } catch (e) {
    if (e instanceof FerryError) throw e;
    if (isMissingFile(e)) return undefined; // removed between the listing and the read
    throw invalid(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/**
 * Reads a certs.d-style directory. A missing directory gives no files. A `.key` without its `.cert`,
 * or the reverse, is INVALID_CONFIG naming both files.
 */
export async function loadTLSFiles(dir: string): Promise<TLSFiles> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    if (isMissingFile(e)) return { ca: [], clientCertificates: [] };
    throw invalid(dir, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const present = new Set(names);
  const out: TLSFiles = { ca: [], clientCertificates: [] };
  for (const name of names) {
    if (name.endsWith('.crt')) {
      const pem = await readIfPresent(join(dir, name));
      if (pem !== undefined) out.ca.push(pem);
    } else if (name.endsWith('.cert')) {
      const keyName = `${name.slice(0, -'.cert'.length)}.key`;
      if (!present.has(keyName)) {
        throw invalid(
          dir,
          `missing key ${keyName} for client certificate ${name} (CA certificates use the extension .crt)`,
        );
      }
      const cert = await readIfPresent(join(dir, name));
      const key = await readIfPresent(join(dir, keyName));
      if (cert !== undefined && key !== undefined)
        out.clientCertificates.push({ cert, key, certPath: join(dir, name) });
    } else if (name.endsWith('.key')) {
      const certName = `${name.slice(0, -'.key'.length)}.cert`;
      if (!present.has(certName)) throw invalid(dir, `missing client certificate ${certName} for key ${name}`);
    }
  }
  const first = out.clientCertificates[0];
  if (first !== undefined) {
    out.cert = first.cert;
    out.key = first.key;
  }
  return out;
}

/** The TLS files for `hostPort` from the first existing certs.d directory (or `certDir`). */
export async function loadTLSFilesFor(hostPort: string, opts: CertDirOptions = {}): Promise<TLSFiles> {
  const dir = await certDirFor(hostPort, opts);
  return dir === undefined ? { ca: [], clientCertificates: [] } : loadTLSFiles(dir);
}

/**
 * Options for node:tls: the directory's CAs (and NODE_EXTRA_CA_CERTS when bin/ferry deferred it)
 * are added to the system roots (containers/image adds them to the system pool; a bare `ca` would
 * replace it). `{}` when node's defaults do.
 */
export function tlsConnectOptions(files: TLSFiles | undefined): {
  ca?: (string | Buffer)[];
  cert?: Buffer;
  key?: Buffer;
} {
  const out: { ca?: (string | Buffer)[]; cert?: Buffer; key?: Buffer } = {};
  const extra = deferredExtraCACertificates();
  const ca = files?.ca ?? [];
  if (ca.length > 0 || extra.length > 0) out.ca = [...tls().rootCertificates, ...extra, ...ca];
  if (files?.cert !== undefined && files.key !== undefined) {
    out.cert = files.cert;
    out.key = files.key;
  }
  return out;
}

const NO_FILES: TLSFiles = { ca: [], clientCertificates: [] };
interface MadeContext {
  value: SecureContext | undefined;
  /** extraCACertificatesVersion() when it was made. */
  version: number;
}
const verifyingContexts = new WeakMap<TLSFiles, MadeContext>();
const insecureContexts = new WeakMap<TLSFiles, MadeContext>();

/**
 * The one SecureContext for `files` (see tlsConnectOptions), or undefined for node's default.
 * Made once and shared by every connection: given as plain options, the ~150 roots would be
 * parsed again for each connection (~0.1 s each). Without verification (`verify` false) no CA is
 * loaded at all: node's default context would still parse the system roots.
 */
export function tlsSecureContext(files: TLSFiles | undefined, verify = true): SecureContext | undefined {
  // No directory, or one without CAs or a client pair, is the same as none: one context for all of them.
  const empty = files === undefined || (files.ca.length === 0 && (files.cert === undefined || files.key === undefined));
  const key = empty ? NO_FILES : files;
  const cache = verify ? verifyingContexts : insecureContexts;
  const version = extraCACertificatesVersion();
  let made = cache.get(key);
  if (made === undefined || made.version !== version) {
    made = { value: makeCheckedContext(key, verify), version };
    cache.set(key, made);
  }
  return made.value;
}

/** makeContext, with OpenSSL's refusal of a bad client certificate or key as INVALID_CONFIG naming the file. */
function makeCheckedContext(files: TLSFiles, verify: boolean): SecureContext | undefined {
  try {
    return makeContext(files, verify);
  } catch (e) {
    const file = files.clientCertificates[0]?.certPath ?? 'the certificate directory';
    const code = (e as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new FerryError(
      'INVALID_CONFIG',
      `certificate directory: ${file} and its key are not a usable PEM certificate and private key (${code})`,
      {
        details: { path: file, opensslCode: code },
      },
    );
  }
}

function makeContext(files: TLSFiles, verify: boolean): SecureContext | undefined {
  if (!verify) {
    const client = files.cert !== undefined && files.key !== undefined ? { cert: files.cert, key: files.key } : {};
    return tls().createSecureContext({ ca: [], ...client });
  }
  const options = tlsConnectOptions(files);
  return Object.keys(options).length === 0 ? undefined : tls().createSecureContext(options);
}

/** node:tls, loaded when TLS settings are first made: commands that open no connection skip it. */
function tls(): typeof import('node:tls') {
  return createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
}
