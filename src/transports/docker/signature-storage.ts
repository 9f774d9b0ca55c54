/**
 * Where the signatures of one registry repository live, from registries.d (containers/image
 * docker/docker_client.go newDockerClientFromRef): the lookaside base URL (for reading, or for
 * writing: `lookaside-staging` first), whether sigstore attachments are used, and the TLS settings an
 * http(s) lookaside is read with (the registry's own: its certs.d or `--cert-dir`, its `--tls-verify`
 * or registries.conf `insecure`; never its credentials).
 *
 * Not supported: the OpenShift `X-Registry-Supports-Signatures` API extension (upstream prefers it
 * over the lookaside when a registry announces it); Ferry always uses the lookaside.
 */
import { loadTLSFilesFor, type TLSFiles } from '../../config/certs.js';
import {
  loadRegistriesD,
  lookasideBaseURL,
  type RegistriesD,
  useSigstoreAttachments,
} from '../../config/registries-d.js';
import type { DockerReference } from '../../reference/reference.js';
import type { RegistriesDOptions, RegistryTLSOptions } from '../types.js';
import type { LookasideHTTPSettings } from './lookaside.js';

export interface SignatureStorage {
  /** `<lookaside>/<repository path>` (file:, http: or https:). */
  lookasideBase: string;
  /** `use-sigstore-attachments` of the most specific registries.d section that sets it. */
  useSigstoreAttachments: boolean;
  http: LookasideHTTPSettings;
}

export interface SignatureStorageInput {
  /** The repository as accessed (a mirror's, for a pull served by a mirror: upstream's physical reference). */
  reference: DockerReference;
  /** For writing (`lookaside-staging` first). */
  write: boolean;
  /** registries.conf marks the registry `insecure` (TLS not verified unless the options say so). */
  insecure?: boolean;
  options: RegistriesDOptions & RegistryTLSOptions;
}

/** registries.d as the options name it (a broken file fails here: upstream reads it before opening an image). */
export function loadSignatureConfig(options: RegistriesDOptions): Promise<RegistriesD> {
  return loadRegistriesD(options.registriesDDir === undefined ? {} : { dir: options.registriesDDir });
}

/** Where `input.reference`'s signatures are, by `config` (loadSignatureConfig). */
export function signatureStorage(config: RegistriesD, input: SignatureStorageInput): SignatureStorage {
  const { reference, options } = input;
  const tlsVerify = options.tlsVerify ?? (input.insecure === true ? false : undefined);
  let tls: Promise<TLSFiles> | undefined;
  return {
    lookasideBase: lookasideBaseURL(config, reference, { write: input.write }),
    useSigstoreAttachments: useSigstoreAttachments(config, reference),
    http: {
      ...(tlsVerify === undefined ? {} : { tlsVerify }),
      tls: () => {
        tls ??= loadTLSFilesFor(reference.domain, options.certDir === undefined ? {} : { certDir: options.certDir });
        return tls;
      },
    },
  };
}
