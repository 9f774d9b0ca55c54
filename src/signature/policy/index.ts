export * from './evaluate.js';
export { identityMatches, remapIdentityPrefix } from './identity.js';
export * from './load.js';
export { isValidRemapPrefix, MAX_POLICY_SIZE, parsePolicy } from './parse.js';
export * from './scopes.js';
export * from './types.js';
