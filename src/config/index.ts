/** Configuration files users already have: auth.json / Docker config, registries.conf, certs.d, containers.conf. */
export {
  AUTH_FILE_HELPER,
  type AuthFileOptions,
  type AuthFilePath,
  type AuthOptions,
  authFileForWrite,
  authFilePaths,
  type Credentials,
  getCredentials,
  normalizeAuthKey,
  normalizeRegistryHost,
  removeAllCredentials,
  removeCredentials,
  type StoredIn,
  setCredentials,
} from './auth.js';
export {
  type CertDirOptions,
  type ClientCertificate,
  certDirFor,
  certDirsFor,
  loadTLSFiles,
  loadTLSFilesFor,
  type TLSFiles,
  tlsConnectOptions,
} from './certs.js';
export {
  type ContainersConf,
  containersConfFiles,
  type LoadContainersConfOptions,
  loadContainersConf,
  parseContainersConf,
} from './containers-conf.js';
export { type HelperCredentials, helperErase, helperGet, helperStore } from './cred-helper.js';
export type { Env } from './paths.js';
export {
  assertNotBlocked,
  emptyRegistriesConf,
  findRegistry,
  isBlocked,
  isInsecure,
  type LoadRegistriesConfOptions,
  loadRegistriesConf,
  type PullFromMirror,
  type PullSource,
  parseRegistriesConf,
  prefixMatchLength,
  pullSources,
  pushDestination,
  type RegistriesConf,
  type RegistriesConfFile,
  type RegistryEntry,
  type RegistryMirror,
  registriesConfFiles,
  type ShortNameMode,
} from './registries-conf.js';
