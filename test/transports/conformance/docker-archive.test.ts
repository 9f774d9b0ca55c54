import { dockerArchiveTransport } from '../../../src/transports/docker-archive/index.js';
import type { DockerArchiveReference } from '../../../src/transports/docker-archive/reference.js';
import { FixtureRoot } from './fixtures.js';
import { describeTransportConformance } from './suite.js';

const root = new FixtureRoot();
describeTransportConformance({
  name: 'docker-archive',
  start: root.start,
  stop: root.stop,
  freshReference: async () =>
    dockerArchiveTransport.parseReference(`${root.fresh('archive-')}.tar:conformance/app:latest`),
  siblingReference: (ref) =>
    dockerArchiveTransport.parseReference(`${(ref as DockerArchiveReference).path}:conformance/app:latest`),
  concurrentWriters: 'replace',
  trustsCallerDigest: true,
  reusesCommittedBlobs: false,
  visibleAt: 'commit',
  abortLeavesNothing: true,
  tempRoots: () => [root.dir],
});
