import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerTransport } from '../../../src/transports/docker/index.js';
import type { ImageReference } from '../../../src/transports/types.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { describeTransportConformance } from './suite.js';

let registry: TestRegistry | undefined;
let n = 0;
const host = (): string => {
  if (registry === undefined) throw new Error('registry not started');
  return registry.host;
};
// Signatures go to a lookaside of this run, never to the machine's built-in default directory.
const signatureRoot = mkdtempSync(join(tmpdir(), 'ferry-conformance-docker-'));
const registriesDDir = join(signatureRoot, 'registries.d');
mkdirSync(registriesDDir);
writeFileSync(
  join(registriesDDir, 'lookaside.yaml'),
  `default-docker:\n  lookaside: file://${join(signatureRoot, 'lookaside')}\n`,
);
const repoOf = (ref: ImageReference): string => ref.stringWithinTransport().replace(/:[^:/]+$/, '');

describeTransportConformance({
  name: 'docker',
  start: async () => {
    registry = await startRegistry({ foreignLayerURLs: true });
  },
  stop: async () => {
    await registry?.stop();
    rmSync(signatureRoot, { recursive: true, force: true });
  },
  freshReference: async () => dockerTransport.parseReference(`//${host()}/conformance/r${n++}:t0`),
  siblingReference: (ref) => dockerTransport.parseReference(`${repoOf(ref)}:t${n++}`),
  concurrentWriters: 'shared',
  reusesCommittedBlobs: true,
  visibleAt: 'putManifest',
  options: { tlsVerify: false, registriesDDir },
});
