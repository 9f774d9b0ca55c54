import { NoneBlobInfoCache } from '../../src/blobinfocache/index.js';
import { registerBlobInfoCacheConformance } from './conformance.js';

registerBlobInfoCacheConformance({ name: 'none', remembers: false, make: () => new NoneBlobInfoCache() });
