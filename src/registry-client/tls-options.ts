/** The node:tls options of a registry's connections, direct or through a proxy. */
import type * as tls from 'node:tls';
import { type TLSFiles, tlsSecureContext } from '../config/certs.js';

/** Verification as asked, with the registry's shared context when node's default will not do. */
export function tlsOptions(
  verify: { rejectUnauthorized: boolean },
  files: TLSFiles | undefined,
): tls.ConnectionOptions {
  const context = tlsSecureContext(files, verify.rejectUnauthorized);
  return { ...verify, ...(context === undefined ? {} : { secureContext: context }) };
}
