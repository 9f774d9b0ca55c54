import { dockerDaemonTransport } from '../../../src/transports/docker-daemon/index.js';
import type { ImageOptions } from '../../../src/transports/types.js';
import { startPodmanService, type TestDaemon } from '../../helpers/daemons.js';
import { describeTransportConformance } from './suite.js';

// A real daemon speaking the Docker Engine API: podman's Docker-compatible service on a private store.
let daemon: TestDaemon | undefined;
let tag = 0;
describeTransportConformance({
  name: 'docker-daemon',
  start: async () => {
    daemon = await startPodmanService();
  },
  stop: async () => {
    await daemon?.stop();
  },
  freshReference: async () => dockerDaemonTransport.parseReference(`conformance/app:t${tag++}`),
  // Another tag in the same daemon.
  siblingReference: () => dockerDaemonTransport.parseReference(`conformance/app:t${tag++}`),
  concurrentWriters: 'shared',
  trustsCallerDigest: true,
  reusesCommittedBlobs: false,
  visibleAt: 'commit',
  get options(): ImageOptions {
    return { daemonHost: daemon?.host ?? 'unix:///nonexistent' };
  },
});
