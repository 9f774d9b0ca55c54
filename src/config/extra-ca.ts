/**
 * NODE_EXTRA_CA_CERTS, deferred. Node reads and parses that file when it starts, before any code
 * runs: ~0.1 s for a system bundle of ~150 certificates, paid by every command, even one that
 * opens no TLS connection. bin/ferry therefore starts node without it and hands the path over;
 * Ferry adds those CAs to its TLS settings when it first needs them (config/certs.ts).
 * The library used in-process (`import 'ferry'`) never defers: node has loaded them already.
 */
import { readFileSync } from 'node:fs';

let deferredPath: string | undefined;
let loaded: string[] | undefined;
let changes = 0;

/** Called by the CLI at start: `path` is the NODE_EXTRA_CA_CERTS node was started without ('' for none). */
export function deferExtraCACertificates(path: string): void {
  deferredPath = path === '' ? undefined : path;
  loaded = undefined;
  changes++;
}

/** Counts calls to deferExtraCACertificates: TLS contexts made before the last one are stale. */
export function extraCACertificatesVersion(): number {
  return changes;
}

/**
 * The deferred extra CAs, read once: the file's PEM text as one entry (node:tls reads every
 * certificate of a concatenated PEM), or [] when none were deferred. A file that cannot be read
 * is ignored with a warning, as node itself does.
 */
export function deferredExtraCACertificates(): string[] {
  if (loaded !== undefined) return loaded;
  if (deferredPath === undefined) return (loaded = []);
  try {
    const pem = readFileSync(deferredPath, 'latin1');
    loaded = pem.includes('-----BEGIN CERTIFICATE-----') ? [pem] : [];
  } catch (e) {
    process.emitWarning(`Ignoring extra certs from \`${deferredPath}\`, load failed: ${(e as Error).message}`);
    loaded = [];
  }
  return loaded;
}
