/**
 * Strict parsing of containers-policy.json(5), as containers/image's policy_config.go: unknown and
 * duplicate fields, empty requirement lists and conflicting key sources are errors that name the
 * file, the JSON path and the rule.
 */
import { FerryError } from '../../errors.js';
import { parseDockerReference } from '../../reference/reference.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../../util/json-text.js';
import { describeValue, quoteInput } from '../../util/quote.js';
import { findDuplicateKey, type JSONPath } from '../../util/json-duplicate-key.js';
import { formatJSONPath } from './json-path.js';
import { validatePolicyScope } from './scopes.js';
import type {
  FulcioRequirement,
  PKIRequirement,
  Policy,
  PolicyReferenceMatch,
  PolicyRequirement,
  PolicyRequirements,
  SignedByKeyType,
  SigstoreSignedRequirement,
} from './types.js';

/** Larger files are refused unread: real policies are a few KiB, keyData ones some hundreds. */
export const MAX_POLICY_SIZE = 4 * 1024 * 1024;
/** Longest path or name a policy field may hold (Linux PATH_MAX). */
const MAX_FIELD_LENGTH = 4096;

type JSONObject = Record<string, unknown>;

function invalid(file: string, path: JSONPath | undefined, rule: string): FerryError {
  const where = path === undefined ? '' : ` at ${formatJSONPath(path)}`;
  return new FerryError('INVALID_POLICY', `invalid policy in ${quoteInput(file)}${where}: ${rule}`, {
    details: { path: file, jsonPath: path === undefined ? undefined : formatJSONPath(path), rule },
  });
}

/** Parses the bytes of a policy.json; `file` names it in errors. */
export function parsePolicy(bytes: Uint8Array | string, file: string): Policy {
  if (bytes.length > MAX_POLICY_SIZE) throw invalid(file, undefined, `larger than ${MAX_POLICY_SIZE} bytes`);
  const text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const parsed = parseJSONText(text);
  if (!parsed.ok) throw invalid(file, undefined, describeJSONSyntaxProblem(parsed.problem));
  const dup = findDuplicateKey(text);
  if (dup !== undefined) throw invalid(file, dup, 'duplicate field');
  return new PolicyParser(file).policy(parsed.value);
}

class PolicyParser {
  constructor(private readonly file: string) {}

  private fail(path: JSONPath, rule: string): FerryError {
    return invalid(this.file, path, rule);
  }

  /** `v` as an object holding only `allowed` fields. */
  private object(v: unknown, path: JSONPath, allowed: readonly string[] | undefined): JSONObject {
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw this.fail(path, `must be an object, not ${describeValue(v)}`);
    const obj = v as JSONObject;
    if (allowed !== undefined) {
      for (const key of Object.keys(obj)) {
        if (!allowed.includes(key))
          throw this.fail([...path, key], `unknown field (allowed here: ${allowed.join(', ')})`);
      }
    }
    return obj;
  }

  private string(v: unknown, path: JSONPath): string {
    if (typeof v !== 'string') throw this.fail(path, `must be a string, not ${describeValue(v)}`);
    if (v.length > MAX_FIELD_LENGTH) throw this.fail(path, `longer than ${MAX_FIELD_LENGTH} characters`);
    return v;
  }

  private nonEmptyString(v: unknown, path: JSONPath): string {
    const s = this.string(v, path);
    if (s === '') throw this.fail(path, 'must not be empty');
    return s;
  }

  private stringList(v: unknown, path: JSONPath): string[] {
    if (!Array.isArray(v)) throw this.fail(path, `must be an array of strings, not ${describeValue(v)}`);
    if (v.length === 0) throw this.fail(path, 'contains no entries');
    return v.map((e, i) => this.nonEmptyString(e, [...path, i]));
  }

  /** Bytes written as standard base64 with padding (Go's encoding of []byte). */
  private bytes(v: unknown, path: JSONPath): Uint8Array {
    if (typeof v !== 'string') throw this.fail(path, `must be a base64 string, not ${describeValue(v)}`);
    if (v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw this.fail(path, 'is not valid base64');
    if (v === '') throw this.fail(path, 'must not be empty');
    return new Uint8Array(Buffer.from(v, 'base64'));
  }

  private bytesList(v: unknown, path: JSONPath): Uint8Array[] {
    if (!Array.isArray(v)) throw this.fail(path, `must be an array of base64 strings, not ${describeValue(v)}`);
    if (v.length === 0) throw this.fail(path, 'contains no entries');
    return v.map((e, i) => this.bytes(e, [...path, i]));
  }

  policy(v: unknown): Policy {
    const obj = this.object(v, [], ['default', 'transports']);
    if (!('default' in obj)) throw this.fail(['default'], 'the default policy is missing');
    const def = this.requirements(obj.default, ['default']);
    const transports = new Map<string, Map<string, PolicyRequirements>>();
    if ('transports' in obj) {
      const t = this.object(obj.transports, ['transports'], undefined);
      for (const [name, scopesValue] of Object.entries(t)) {
        const scopesPath = ['transports', name];
        const scopesObj = this.object(scopesValue, scopesPath, undefined);
        const scopes = new Map<string, PolicyRequirements>();
        for (const [scope, reqs] of Object.entries(scopesObj)) {
          const rule = scope === '' ? undefined : validatePolicyScope(name, scope);
          if (rule !== undefined) throw this.fail([...scopesPath, scope], `invalid scope: ${rule}`);
          scopes.set(scope, this.requirements(reqs, [...scopesPath, scope]));
        }
        transports.set(name, scopes);
      }
    }
    return { default: def, transports };
  }

  private requirements(v: unknown, path: JSONPath): PolicyRequirements {
    if (!Array.isArray(v)) throw this.fail(path, `must be an array of requirements, not ${describeValue(v)}`);
    if (v.length === 0) throw this.fail(path, 'the list of requirements must not be empty');
    return v.map((r, i) => this.requirement(r, [...path, i]));
  }

  private type(obj: JSONObject, path: JSONPath): string {
    if (!('type' in obj)) throw this.fail([...path, 'type'], 'missing');
    return this.string(obj.type, [...path, 'type']);
  }

  private requirement(v: unknown, path: JSONPath): PolicyRequirement {
    const type = this.type(this.object(v, path, undefined), path);
    switch (type) {
      case 'insecureAcceptAnything':
      case 'reject':
        this.object(v, path, ['type']);
        return { type };
      case 'signedBy':
        return this.signedBy(v, path);
      case 'sigstoreSigned':
        return this.sigstoreSigned(v, path);
      case 'signedBaseLayer': {
        const obj = this.object(v, path, ['type', 'baseLayerIdentity']);
        if (!('baseLayerIdentity' in obj)) throw this.fail([...path, 'baseLayerIdentity'], 'not specified');
        return { type, baseLayerIdentity: this.identity(obj.baseLayerIdentity, [...path, 'baseLayerIdentity']) };
      }
      default:
        throw this.fail(
          [...path, 'type'],
          `unknown requirement type ${quoteInput(type)} (known: insecureAcceptAnything, reject, signedBy, ` +
            'sigstoreSigned, signedBaseLayer)',
        );
    }
  }

  /** Exactly one of `fields` present in `obj`, named in the error otherwise. */
  private exactlyOne(obj: JSONObject, path: JSONPath, fields: readonly string[]): void {
    const present = fields.filter((f) => f in obj);
    if (present.length !== 1) {
      const got = present.length === 0 ? 'none is present' : `${present.join(' and ')} are present`;
      throw this.fail(path, `exactly one of ${fields.join(', ')} must be specified; ${got}`);
    }
  }

  private signedIdentity(obj: JSONObject, path: JSONPath): PolicyReferenceMatch {
    return 'signedIdentity' in obj
      ? this.identity(obj.signedIdentity, [...path, 'signedIdentity'])
      : { type: 'matchRepoDigestOrExact' };
  }

  private signedBy(v: unknown, path: JSONPath): PolicyRequirement {
    const obj = this.object(v, path, ['type', 'keyType', 'keyPath', 'keyPaths', 'keyData', 'signedIdentity']);
    if (!('keyType' in obj)) throw this.fail([...path, 'keyType'], 'missing (use "GPGKeys")');
    const keyType = this.string(obj.keyType, [...path, 'keyType']);
    if (!KEY_TYPES.includes(keyType as SignedByKeyType))
      throw this.fail(
        [...path, 'keyType'],
        `unrecognized keyType ${quoteInput(keyType)} (known: ${KEY_TYPES.join(', ')})`,
      );
    this.exactlyOne(obj, path, ['keyPath', 'keyPaths', 'keyData']);
    return {
      type: 'signedBy',
      keyType: keyType as SignedByKeyType,
      ...('keyPath' in obj ? { keyPath: this.nonEmptyString(obj.keyPath, [...path, 'keyPath']) } : {}),
      ...('keyPaths' in obj ? { keyPaths: this.stringList(obj.keyPaths, [...path, 'keyPaths']) } : {}),
      ...('keyData' in obj ? { keyData: this.bytes(obj.keyData, [...path, 'keyData']) } : {}),
      signedIdentity: this.signedIdentity(obj, path),
    };
  }

  private sigstoreSigned(v: unknown, path: JSONPath): SigstoreSignedRequirement {
    const obj = this.object(v, path, SIGSTORE_FIELDS);
    this.exactlyOne(obj, path, ['keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio', 'pki']);
    const rekor = REKOR_FIELDS.filter((f) => f in obj);
    if (rekor.length > 1)
      throw this.fail(path, `at most one of ${REKOR_FIELDS.join(', ')} may be used; got ${rekor.join(' and ')}`);
    if ('fulcio' in obj && rekor.length === 0)
      throw this.fail(path, `one of ${REKOR_FIELDS.join(', ')} must be specified when fulcio is used`);
    if ('pki' in obj && rekor.length > 0) throw this.fail([...path, rekor[0] as string], 'not supported with pki');
    const p = (f: string): JSONPath => [...path, f];
    return {
      type: 'sigstoreSigned',
      ...('keyPath' in obj ? { keyPath: this.nonEmptyString(obj.keyPath, p('keyPath')) } : {}),
      ...('keyPaths' in obj ? { keyPaths: this.stringList(obj.keyPaths, p('keyPaths')) } : {}),
      ...('keyData' in obj ? { keyData: this.bytes(obj.keyData, p('keyData')) } : {}),
      ...('keyDatas' in obj ? { keyDatas: this.bytesList(obj.keyDatas, p('keyDatas')) } : {}),
      ...('fulcio' in obj ? { fulcio: this.fulcio(obj.fulcio, p('fulcio')) } : {}),
      ...('pki' in obj ? { pki: this.pki(obj.pki, p('pki')) } : {}),
      ...('rekorPublicKeyPath' in obj
        ? { rekorPublicKeyPath: this.nonEmptyString(obj.rekorPublicKeyPath, p('rekorPublicKeyPath')) }
        : {}),
      ...('rekorPublicKeyPaths' in obj
        ? { rekorPublicKeyPaths: this.stringList(obj.rekorPublicKeyPaths, p('rekorPublicKeyPaths')) }
        : {}),
      ...('rekorPublicKeyData' in obj
        ? { rekorPublicKeyData: this.bytes(obj.rekorPublicKeyData, p('rekorPublicKeyData')) }
        : {}),
      ...('rekorPublicKeyDatas' in obj
        ? { rekorPublicKeyDatas: this.bytesList(obj.rekorPublicKeyDatas, p('rekorPublicKeyDatas')) }
        : {}),
      signedIdentity: this.signedIdentity(obj, path),
    };
  }

  private fulcio(v: unknown, path: JSONPath): FulcioRequirement {
    const obj = this.object(v, path, ['caPath', 'caData', 'oidcIssuer', 'subjectEmail']);
    this.exactlyOne(obj, path, ['caPath', 'caData']);
    for (const f of ['oidcIssuer', 'subjectEmail']) if (!(f in obj)) throw this.fail([...path, f], 'not specified');
    return {
      ...('caPath' in obj ? { caPath: this.nonEmptyString(obj.caPath, [...path, 'caPath']) } : {}),
      ...('caData' in obj ? { caData: this.bytes(obj.caData, [...path, 'caData']) } : {}),
      oidcIssuer: this.nonEmptyString(obj.oidcIssuer, [...path, 'oidcIssuer']),
      subjectEmail: this.nonEmptyString(obj.subjectEmail, [...path, 'subjectEmail']),
    };
  }

  private pki(v: unknown, path: JSONPath): PKIRequirement {
    const obj = this.object(v, path, PKI_FIELDS);
    this.exactlyOne(obj, path, ['caRootsPath', 'caRootsData']);
    if ('caIntermediatesPath' in obj && 'caIntermediatesData' in obj)
      throw this.fail(path, 'caIntermediatesPath and caIntermediatesData cannot be used together');
    if (!('subjectEmail' in obj) && !('subjectHostname' in obj))
      throw this.fail(path, 'at least one of subjectEmail, subjectHostname must be specified');
    const p = (f: string): JSONPath => [...path, f];
    return {
      ...('caRootsPath' in obj ? { caRootsPath: this.nonEmptyString(obj.caRootsPath, p('caRootsPath')) } : {}),
      ...('caRootsData' in obj ? { caRootsData: this.bytes(obj.caRootsData, p('caRootsData')) } : {}),
      ...('caIntermediatesPath' in obj
        ? { caIntermediatesPath: this.nonEmptyString(obj.caIntermediatesPath, p('caIntermediatesPath')) }
        : {}),
      ...('caIntermediatesData' in obj
        ? { caIntermediatesData: this.bytes(obj.caIntermediatesData, p('caIntermediatesData')) }
        : {}),
      ...('subjectEmail' in obj ? { subjectEmail: this.nonEmptyString(obj.subjectEmail, p('subjectEmail')) } : {}),
      ...('subjectHostname' in obj
        ? { subjectHostname: this.nonEmptyString(obj.subjectHostname, p('subjectHostname')) }
        : {}),
    };
  }

  private identity(v: unknown, path: JSONPath): PolicyReferenceMatch {
    const type = this.type(this.object(v, path, undefined), path);
    switch (type) {
      case 'matchRepoDigestOrExact':
      case 'matchExact':
      case 'matchRepository':
        this.object(v, path, ['type']);
        return { type };
      case 'exactReference': {
        const obj = this.object(v, path, ['type', 'dockerReference']);
        const ref = this.reference(obj, path, 'dockerReference');
        if (ref.isNameOnly()) throw this.fail([...path, 'dockerReference'], 'contains neither a tag nor a digest');
        return { type, dockerReference: obj.dockerReference as string };
      }
      case 'exactRepository': {
        const obj = this.object(v, path, ['type', 'dockerRepository']);
        this.reference(obj, path, 'dockerRepository');
        return { type, dockerRepository: obj.dockerRepository as string };
      }
      case 'remapIdentity': {
        const obj = this.object(v, path, ['type', 'prefix', 'signedPrefix']);
        const prefix = this.remapPrefix(obj, path, 'prefix');
        const signedPrefix = this.remapPrefix(obj, path, 'signedPrefix');
        return { type, prefix, signedPrefix };
      }
      default:
        throw this.fail(
          [...path, 'type'],
          `unknown signedIdentity type ${quoteInput(type)} (known: matchRepoDigestOrExact, matchExact, ` +
            'matchRepository, exactReference, exactRepository, remapIdentity)',
        );
    }
  }

  private reference(obj: JSONObject, path: JSONPath, field: string) {
    if (!(field in obj)) throw this.fail([...path, field], 'not specified');
    const s = this.string(obj[field], [...path, field]);
    try {
      return parseDockerReference(s);
    } catch (e) {
      throw this.fail([...path, field], `not a valid Docker reference: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private remapPrefix(obj: JSONObject, path: JSONPath, field: string): string {
    if (!(field in obj)) throw this.fail([...path, field], 'not specified');
    const s = this.string(obj[field], [...path, field]);
    if (!isValidRemapPrefix(s))
      throw this.fail([...path, field], `${quoteInput(s)} is not a host[:port] or a host[:port]/repository prefix`);
    return s;
  }
}

const KEY_TYPES: readonly SignedByKeyType[] = ['GPGKeys', 'signedByGPGKeys', 'X509Certificates', 'signedByX509CAs'];
const REKOR_FIELDS = ['rekorPublicKeyPath', 'rekorPublicKeyPaths', 'rekorPublicKeyData', 'rekorPublicKeyDatas'];
const SIGSTORE_FIELDS = [
  'type',
  'keyPath',
  'keyPaths',
  'keyData',
  'keyDatas',
  'fulcio',
  'pki',
  ...REKOR_FIELDS,
  'signedIdentity',
];
const PKI_FIELDS = [
  'caRootsPath',
  'caRootsData',
  'caIntermediatesPath',
  'caIntermediatesData',
  'subjectEmail',
  'subjectHostname',
];

/** A Docker domain (host[:port], or a bracketed IPv6 address and port), as distribution/reference's DomainRegexp. */
const DOMAIN =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** A remapIdentity prefix: a domain alone, or a domain then repository path components (validateIdentityRemappingPrefix). */
export function isValidRemapPrefix(s: string): boolean {
  const slash = s.indexOf('/');
  const domain = slash === -1 ? s : s.slice(0, slash);
  if (!DOMAIN.test(domain)) return false;
  return (
    slash === -1 ||
    s
      .slice(slash + 1)
      .split('/')
      .every((c) => PATH_COMPONENT.test(c))
  );
}
