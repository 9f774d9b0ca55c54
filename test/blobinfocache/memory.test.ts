import { MemoryBlobInfoCache } from '../../src/blobinfocache/index.js';
import { registerBlobInfoCacheConformance } from './conformance.js';

registerBlobInfoCacheConformance({
  name: 'memory',
  remembers: true,
  make: (options) => new MemoryBlobInfoCache(options),
});
