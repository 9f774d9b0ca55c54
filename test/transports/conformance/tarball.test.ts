import { newTarballReference } from '../../../src/transports/tarball/reference.js';
import { blobPath } from '../../helpers/make-image.js';
import { describeTransportConformance } from './suite.js';

describeTransportConformance({
  name: 'tarball (source only)',
  sourceFrom: async (layout, image) =>
    newTarballReference((image.instances[0]?.layers ?? []).map((l) => blobPath(layout, l.digest))),
  reusesCommittedBlobs: false,
  visibleAt: 'commit',
});
