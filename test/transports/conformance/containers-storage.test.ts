import path from 'node:path';
import { test } from 'node:test';
import { containersStorageTransport } from '../../../src/transports/containers-storage/index.js';
import type { StorageReference } from '../../../src/transports/containers-storage/reference.js';
import { FixtureRoot } from './fixtures.js';
import { describeTransportConformance } from './suite.js';

const root = new FixtureRoot();
let n = 0;
const store = (driver: string) =>
  `[${driver}@${path.join(root.dir, driver, 'root')}+${path.join(root.dir, driver, 'run')}]`;

if (process.getuid?.() === 0) {
  for (const driver of ['vfs', 'overlay']) {
    describeTransportConformance({
      name: `containers-storage (${driver})`,
      start: root.start,
      stop: root.stop,
      freshReference: async () => containersStorageTransport.parseReference(`${store(driver)}app:${n++}`),
      siblingReference: (ref) =>
        containersStorageTransport.parseReference(
          `${store(driver)}sibling-of-${(ref as StorageReference).named?.tag ?? 'x'}:${n++}`,
        ),
      concurrentWriters: 'shared',
      trustsCallerDigest: true,
      reusesCommittedBlobs: true,
      visibleAt: 'commit',
      abortLeavesNothing: false,
      layerCompression: 'none',
      tempRoots: () => [path.join(root.dir, driver)],
    });
  }
} else {
  test('transport conformance: containers-storage', {
    skip: 'needs root (Ferry writes containers-storage stores as root only so far)',
  }, () => {});
}
