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
const repoOf = (ref: ImageReference): string => ref.stringWithinTransport().replace(/:[^:/]+$/, '');

describeTransportConformance({
  name: 'docker',
  start: async () => {
    registry = await startRegistry({ foreignLayerURLs: true });
  },
  stop: async () => {
    await registry?.stop();
  },
  freshReference: async () => dockerTransport.parseReference(`//${host()}/conformance/r${n++}:t0`),
  siblingReference: (ref) => dockerTransport.parseReference(`${repoOf(ref)}:t${n++}`),
  concurrentWriters: 'shared',
  reusesCommittedBlobs: true,
  visibleAt: 'putManifest',
  options: { tlsVerify: false },
});
