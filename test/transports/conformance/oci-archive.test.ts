// Registers the oci: transport, which oci-archive writes through.
import '../../../src/index.js';
import { ociArchiveTransport } from '../../../src/transports/oci-archive/index.js';
import type { OciArchiveReference } from '../../../src/transports/oci-archive/reference.js';
import { FixtureRoot } from './fixtures.js';
import { describeTransportConformance } from './suite.js';

const root = new FixtureRoot();
describeTransportConformance({
  name: 'oci-archive',
  start: root.start,
  stop: root.stop,
  freshReference: async () => ociArchiveTransport.parseReference(`${root.fresh('archive-')}.tar:app`),
  siblingReference: (ref) => ociArchiveTransport.parseReference(`${(ref as OciArchiveReference).path}:app`),
  concurrentWriters: 'replace',
  trustsCallerDigest: true,
  reusesCommittedBlobs: false,
  visibleAt: 'commit',
  abortLeavesNothing: true,
  tempRoots: () => [root.dir],
});
