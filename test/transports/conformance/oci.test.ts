import { ociTransport } from '../../../src/transports/oci-layout/index.js';
import type { OciReference } from '../../../src/transports/oci-layout/reference.js';
import { FixtureRoot } from './fixtures.js';
import { describeTransportConformance } from './suite.js';

const root = new FixtureRoot();
let tag = 0;
describeTransportConformance({
  name: 'oci',
  start: root.start,
  stop: root.stop,
  freshReference: async () => ociTransport.parseReference(`${root.fresh('layout-')}:t${tag++}`),
  siblingReference: (ref) => ociTransport.parseReference(`${(ref as OciReference).dir}:t${tag++}`),
  concurrentWriters: 'shared',
  trustsCallerDigest: true,
  reusesCommittedBlobs: true,
  visibleAt: 'commit',
  tempRoots: () => [root.dir],
});
