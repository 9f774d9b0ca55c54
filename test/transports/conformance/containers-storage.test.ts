import path from 'node:path';
import { test } from 'node:test';
import { containersStorageTransport } from '../../../src/transports/containers-storage/index.js';
import type { StorageReference } from '../../../src/transports/containers-storage/reference.js';
import { FixtureRoot } from './fixtures.js';
import { describeTransportConformance } from './suite.js';

const root = new FixtureRoot();
let n = 0;
const store = () => `[vfs@${path.join(root.dir, 'store', 'root')}+${path.join(root.dir, 'store', 'run')}]`;

if (process.getuid?.() === 0) {
  describeTransportConformance({
    name: 'containers-storage',
    start: root.start,
    stop: root.stop,
    freshReference: async () => containersStorageTransport.parseReference(`${store()}app:${n++}`),
    siblingReference: (ref) =>
      containersStorageTransport.parseReference(
        `${store()}sibling-of-${(ref as StorageReference).named?.tag ?? 'x'}:${n++}`,
      ),
    concurrentWriters: 'shared',
    trustsCallerDigest: true,
    reusesCommittedBlobs: true,
    visibleAt: 'commit',
    abortLeavesNothing: false,
    layerCompression: 'none',
    tempRoots: () => [path.join(root.dir, 'store')],
  });
} else {
  test('transport conformance: containers-storage', {
    skip: 'needs root (Ferry writes containers-storage stores as root only so far)',
  }, () => {});
}
