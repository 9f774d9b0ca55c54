/**
 * `containers-storage:[DRIVER@GRAPHROOT+RUNROOT:OPTIONS]NAME[:TAG|@DIGEST][@ID]` references, parsed
 * as containers/image's storage transport does (storage/storage_transport.go): the bracketed store
 * part is optional and each of its pieces too (`[GRAPHROOT]`, `[DRIVER@GRAPHROOT]`, ...); a trailing
 * `@ID` that is not a digest is an image ID (64 hex), or a prefix of one that must match an image in
 * the store; a bare name of 3 or more characters without `:` or `@` is tried as an ID prefix first.
 * A name without tag or digest gets `:latest`. What the brackets leave out comes from storage.conf
 * when the store is opened.
 */
import { isAbsolute } from 'node:path';
import { isDigest } from '../../digest/digest.js';
import { FerryError } from '../../errors.js';
import { type DockerReference, parseNormalizedNamed } from '../../reference/reference.js';
import { quoteInput } from '../../util/quote.js';
import { BaseImageReference } from '../reference-base.js';
import type { CallOptions, ImageDestination, ImageSource, ImageTransport } from '../types.js';
import type { StorageLocation, StoreSpec } from './location.js';
import { type StoragePolicyScopes, storagePolicyScopes } from './policy-scope.js';

export const CONTAINERS_STORAGE_TRANSPORT_NAME = 'containers-storage';

/** containers/image's minimumTruncatedIDLength. */
export const MINIMUM_TRUNCATED_ID_LENGTH = 3;
const FULL_ID = /^[a-f0-9]{64}$/;
const ID_PREFIX = /^[a-f0-9]+$/;

function invalid(within: string, why: string): FerryError {
  return new FerryError('INVALID_REFERENCE', `invalid containers-storage: reference ${quoteInput(within)}: ${why}`);
}

/** `DRIVER@GRAPHROOT+RUNROOT:OPTIONS`, each piece optional as containers/image allows. */
function parseStoreSpec(spec: string, within: string): StoreSpec {
  if (spec === '') throw invalid(within, 'the store specifier [] is empty');
  const out: StoreSpec = {};
  let rest = spec;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const driver = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (driver === '' || rest === '') throw invalid(within, 'a store specifier DRIVER@ROOT needs both parts');
    out.driver = driver;
  }
  const colon = rest.indexOf(':');
  if (colon !== -1) {
    out.options = rest.slice(colon + 1).split(',');
    rest = rest.slice(0, colon);
  }
  const plus = rest.indexOf('+');
  if (plus !== -1) {
    const runRoot = rest.slice(plus + 1);
    rest = rest.slice(0, plus);
    if (runRoot !== '') out.runRoot = runRoot;
  }
  if (rest !== '') out.graphRoot = rest;
  for (const path of [out.graphRoot, out.runRoot]) {
    if (path !== undefined && !isAbsolute(path))
      throw invalid(within, `the store path ${quoteInput(path)} is not absolute`);
    if (path?.includes('\0')) throw invalid(within, 'a store path cannot contain a NUL character');
  }
  return out;
}

function storeSpecString(s: StoreSpec): string {
  if (s.driver === undefined && s.graphRoot === undefined && s.runRoot === undefined && s.options === undefined)
    return '';
  const driver = s.driver === undefined ? '' : `${s.driver}@`;
  const run = s.runRoot === undefined ? '' : `+${s.runRoot}`;
  const options = s.options === undefined ? '' : `:${s.options.join(',')}`;
  return `[${driver}${s.graphRoot ?? ''}${run}${options}]`;
}

export class StorageReference extends BaseImageReference<CallOptions> implements StorageLocation {
  readonly transport: ImageTransport = containersStorageTransport;
  /** Worked out on first use (storage.conf, the graph root, images.json for an ID prefix), then kept. */
  #policyScopes: StoragePolicyScopes | undefined;

  constructor(
    readonly store: StoreSpec,
    readonly named: DockerReference | undefined,
    readonly id: string | undefined,
    readonly idIsPrefix: boolean,
    readonly maybeIdPrefix: string | undefined,
  ) {
    super();
  }

  stringWithinTransport(): string {
    const name = this.maybeIdPrefix ?? this.named?.toString() ?? '';
    return `${storeSpecString(this.store)}${name}${this.id === undefined ? '' : `@${this.id}`}`;
  }

  override dockerReference(): DockerReference | undefined {
    return this.maybeIdPrefix === undefined ? this.named : undefined;
  }

  /** `[DRIVER@GRAPHROOT]NAME:TAG[@ID]` or `[DRIVER@GRAPHROOT]@ID` (policy-scope.ts, as containers/image). */
  override policyConfigurationIdentity(): string {
    return this.#scopes().identity;
  }

  /** The name without the ID, the repository and its parents, the store, the graph root (policy-scope.ts). */
  override policyConfigurationNamespaces(): string[] {
    return [...this.#scopes().namespaces];
  }

  #scopes(): StoragePolicyScopes {
    this.#policyScopes ??= storagePolicyScopes(this);
    return this.#policyScopes;
  }

  async newImageSource(options: CallOptions = {}): Promise<ImageSource> {
    const { StorageImageSource } = await import('./source.js');
    return StorageImageSource.open(this, options);
  }

  async newImageDestination(options: CallOptions = {}): Promise<ImageDestination> {
    const { StorageImageDestination } = await import('./destination.js');
    return StorageImageDestination.open(this, options);
  }

  async deleteImage(options: CallOptions = {}): Promise<void> {
    const { deleteStorageImage } = await import('./delete.js');
    await deleteStorageImage(this, options);
  }
}

export function parseStorageReference(within: string): StorageReference {
  if (within === '') throw invalid(within, 'the reference is empty');
  if (within.includes('\0')) throw invalid(within, 'a reference cannot contain a NUL character');
  let store: StoreSpec = {};
  let ref = within;
  if (ref.startsWith('[')) {
    const close = ref.indexOf(']');
    if (close < 1) throw invalid(within, 'the store specifier [ ... ] does not end');
    store = parseStoreSpec(ref.slice(1, close), within);
    ref = ref.slice(close + 1);
  }
  let id: string | undefined;
  let idIsPrefix = false;
  const at = ref.lastIndexOf('@');
  if (at !== -1) {
    const possible = ref.slice(at + 1);
    if (possible === '') throw invalid(within, 'nothing follows the last "@"');
    if (!isDigest(possible)) {
      if (FULL_ID.test(possible)) id = possible;
      else if (possible.length >= MINIMUM_TRUNCATED_ID_LENGTH && ID_PREFIX.test(possible)) {
        id = possible;
        idIsPrefix = true;
      } else {
        throw invalid(within, `${quoteInput(possible)} is neither a digest nor an image ID (or a prefix of one)`);
      }
      ref = ref.slice(0, at);
    }
  }
  let maybeIdPrefix: string | undefined;
  if (id === undefined && ref.length >= MINIMUM_TRUNCATED_ID_LENGTH && ID_PREFIX.test(ref) && ref.length <= 64) {
    maybeIdPrefix = ref;
  }
  let named: DockerReference | undefined;
  if (ref !== '') {
    try {
      named = parseNormalizedNamed(ref).withDefaultTag();
    } catch (e) {
      if (maybeIdPrefix !== undefined) named = undefined;
      else throw invalid(within, `${quoteInput(ref)} is not an image name: ${(e as Error).message}`);
    }
  } else if (id === undefined) {
    throw invalid(within, 'neither an image name nor an image ID is given');
  }
  return new StorageReference(store, named, id, idIsPrefix, maybeIdPrefix);
}

export const containersStorageTransport: ImageTransport = {
  name: CONTAINERS_STORAGE_TRANSPORT_NAME,
  parseReference: parseStorageReference,
};
