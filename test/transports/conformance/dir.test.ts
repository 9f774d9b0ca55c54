import { dirTransport } from '../../../src/transports/dir/index.js';
import type { DirReference } from '../../../src/transports/dir/reference.js';
import { FixtureRoot } from './fixtures.js';
import { describeTransportConformance } from './suite.js';

const root = new FixtureRoot();
describeTransportConformance({
  name: 'dir',
  start: root.start,
  stop: root.stop,
  freshReference: async () => dirTransport.parseReference(root.fresh('dir-')),
  siblingReference: (ref) => dirTransport.parseReference((ref as DirReference).path),
  concurrentWriters: 'replace',
  trustsCallerDigest: true,
  reusesCommittedBlobs: false,
  visibleAt: 'commit',
  abortLeavesNothing: true,
  tempRoots: () => [root.dir],
});
