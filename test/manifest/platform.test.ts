import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import {
  chooseInstance,
  goArch,
  goOS,
  type ListManifest,
  parseManifest,
  type PlatformWanted,
  wantedPlatforms,
} from '../../src/manifest/index.js';
import { armVariantFromCPUInfo } from '../../src/manifest/platform.js';
import { fixturePath } from '../helpers/paths.js';

const list = (name: string): ListManifest => parseManifest(readFileSync(fixturePath('manifest', name))) as ListManifest;

test('Node architecture and OS names map to Go names', () => {
  assert.equal(goArch('x64'), 'amd64');
  assert.equal(goArch('ia32'), '386');
  assert.equal(goArch('arm64'), 'arm64');
  assert.equal(goArch('arm'), 'arm');
  assert.equal(goArch('s390x'), 's390x');
  assert.equal(goOS('win32'), 'windows');
  assert.equal(goOS('linux'), 'linux');
  assert.equal(goOS('darwin'), 'darwin');
});

test('wanted variants go from the most capable down, then no variant', () => {
  const v = (w: PlatformWanted): string[] => wantedPlatforms(w).map((p) => p.variant ?? '');
  assert.deepEqual(v({ os: 'linux', architecture: 'arm', variant: 'v7' }), ['v7', 'v6', 'v5', '']);
  assert.deepEqual(v({ os: 'linux', architecture: 'arm', variant: 'v6' }), ['v6', 'v5', '']);
  assert.deepEqual(v({ os: 'linux', architecture: 'arm64', variant: 'v8' }), ['v8', '']);
  assert.deepEqual(v({ os: 'linux', architecture: 'arm64' }), ['', 'v8']);
  // containers/image's table: 32-bit arm knows v8, and no variant accepts every known one.
  assert.deepEqual(v({ os: 'linux', architecture: 'arm' }), ['', 'v8', 'v7', 'v6', 'v5']);
  assert.deepEqual(v({ os: 'linux', architecture: 'arm', variant: 'v8' }), ['v8', 'v7', 'v6', 'v5', '']);
  assert.deepEqual(v({ os: 'linux', architecture: 'amd64' }), ['']);
  assert.deepEqual(v({ os: 'linux', architecture: 'arm', variant: 'v9x' }), ['v9x', '']);
  const p = wantedPlatforms({ os: 'freebsd', architecture: 'riscv64' });
  assert.deepEqual(p, [{ os: 'freebsd', architecture: 'riscv64' }]);
});

test('unset fields come from the running machine', () => {
  const p = wantedPlatforms()[0];
  assert.equal(p?.os, goOS());
  assert.equal(p?.architecture, goArch());
});

test('reads the ARM variant from /proc/cpuinfo text', () => {
  assert.equal(armVariantFromCPUInfo('processor\t: 0\nCPU architecture: 7\n'), 'v7');
  assert.equal(armVariantFromCPUInfo('CPU architecture: 8\n'), 'v8');
  assert.equal(armVariantFromCPUInfo('CPU architecture: 6TEJ\n'), 'v6');
  assert.equal(armVariantFromCPUInfo('model name: x\n'), '');
});

test('Docker list: the first entry matching the earliest wanted platform', () => {
  const l = list('schema2list-variants.json');
  const pick = (w: PlatformWanted): string => chooseInstance(l, w).digest.slice(7, 14);
  const table: [PlatformWanted, string][] = [
    [{ os: 'linux', architecture: 'amd64' }, '59eec88'],
    [{ os: 'linux', architecture: 'arm', variant: 'v7' }, 'f365626'], // no v7: v6 is next
    [{ os: 'linux', architecture: 'arm', variant: 'v6' }, 'f365626'],
    [{ os: 'linux', architecture: 'arm', variant: 'v5' }, 'c84b0a3'], // no v5: the variant-less entry
    [{ os: 'linux', architecture: 'arm', variant: 'unrecognized-present' }, 'bcf9771'],
    [{ os: 'linux', architecture: 'arm', variant: 'unrecognized-not-present' }, 'c84b0a3'],
    [{ os: 'linux', architecture: 'arm' }, 'c84b0a3'],
  ];
  for (const [w, want] of table) assert.equal(pick(w), want, JSON.stringify(w));
});

test('Docker list: the amd64 entry of a typical list', () => {
  const l = list('v2list.manifest.json');
  const amd64 = l.instances().find((i) => i.platform?.architecture === 'amd64' && i.platform.os === 'linux');
  assert.equal(chooseInstance(l, { os: 'linux', architecture: 'amd64' }).digest, amd64?.digest);
});

test('OCI index with variants: exact variant, then older variants, then no variant', () => {
  const l = list('ocilist-variants.json');
  const d = (i: number): string => l.instances()[i]?.digest as string;
  const pick = (w: PlatformWanted): string => chooseInstance(l, w).digest;
  assert.equal(pick({ os: 'linux', architecture: 'amd64' }), d(0));
  assert.equal(pick({ os: 'linux', architecture: 'arm', variant: 'v7' }), d(1));
  // v6 has a gzip and a zstd instance: zstd is preferred by default, gzip on request
  assert.equal(pick({ os: 'linux', architecture: 'arm', variant: 'v6' }), d(3));
  assert.equal(
    chooseInstance(l, { os: 'linux', architecture: 'arm', variant: 'v6' }, { preferGzip: true }).digest,
    d(2),
  );
  assert.equal(pick({ os: 'linux', architecture: 'arm', variant: 'v5' }), d(5));
  assert.equal(pick({ os: 'linux', architecture: 'arm', variant: 'unrecognized-present' }), d(4));
  assert.equal(pick({ os: 'linux', architecture: 'arm', variant: 'unrecognized-not-present' }), d(5));
});

test('OCI index: among entries of one platform a zstd instance wins unless gzip is preferred', () => {
  const l = list('oci1.index.zstd-selection.json');
  const digests = l.instances().map((i) => i.digest);
  assert.equal(chooseInstance(l, { os: 'linux', architecture: 'amd64' }).digest, digests[1]);
  assert.equal(chooseInstance(l, { os: 'linux', architecture: 'amd64' }, { preferGzip: true }).digest, digests[0]);
  assert.equal(chooseInstance(l, { os: 'linux', architecture: 'arm64' }).digest, digests[2]);
  assert.equal(chooseInstance(l, { os: 'linux', architecture: 's390x' }).digest, digests[4]);
});

test('OCI index: the second zstd-selection table', () => {
  const l = list('oci1.index.zstd-selection2.json');
  const pick = (w: PlatformWanted, preferGzip = false): string =>
    chooseInstance(l, w, { preferGzip }).digest.slice(7, 14);
  assert.equal(pick({ os: 'linux', architecture: 'amd64' }), 'ccccccc'); // the first zstd amd64 entry
  assert.equal(pick({ os: 'linux', architecture: 'amd64' }, true), 'aaaaaaa');
  assert.equal(pick({ os: 'linux', architecture: 'arm64' }), '1c98002');
  assert.equal(pick({ os: 'linux', architecture: 'arm64' }, true), '6dc14a6');
  assert.equal(pick({ os: 'linux', architecture: 's390x' }), 'f2f5f52'); // only platform-less entries: zstd first
  assert.equal(pick({ os: 'linux', architecture: 's390x' }, true), 'c76757b');
});

test('OCI index: entries without a platform are eligible, after matching ones', () => {
  const doc = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 1 },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: `sha256:${'2'.repeat(64)}`,
        size: 1,
        platform: { os: 'linux', architecture: 'amd64' },
      },
    ],
  };
  const l = parseManifest(Buffer.from(JSON.stringify(doc))) as ListManifest;
  assert.equal(chooseInstance(l, { os: 'linux', architecture: 'amd64' }).digest, `sha256:${'2'.repeat(64)}`);
  assert.equal(chooseInstance(l, { os: 'linux', architecture: 'mips64' }).digest, `sha256:${'1'.repeat(64)}`);
});

test('no match is NO_MATCHING_PLATFORM naming the wanted and the available platforms', () => {
  assert.throws(
    () => chooseInstance(list('v2list.manifest.json'), { os: 'plan9', architecture: 'mips' }),
    (e) =>
      isFerryError(e, 'NO_MATCHING_PLATFORM') &&
      e.message.startsWith(
        'no image found in manifest list for architecture mips, variant "", OS plan9; available: ',
      ) &&
      e.message.includes('linux/amd64'),
  );
  assert.throws(
    () => chooseInstance(list('oci1.index.zstd-selection.json'), { os: 'windows', architecture: 'amd64' }),
    (e) => isFerryError(e, 'NO_MATCHING_PLATFORM'),
  );
});
