import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { manifestDigest, manifestMatchesDigest } from '../../src/manifest/index.js';
import { fixturePath } from '../helpers/paths.js';
import { run } from '../helpers/run.js';

const fixture = (name: string): Buffer => readFileSync(fixturePath('manifest', name));

/** What `skopeo manifest-digest` (1.9.3) prints for each fixture it accepts. */
const SKOPEO_DIGESTS: [string, string][] = [
  ['non-json.manifest.json', 'sha256:6c920ac27be03fc95cfcc3bb86f7e4893241c35a462145445ee46398330b5ec3'],
  ['oci1-all-media-types-config.json', 'sha256:94ac69e4413476d061116c9d05757e46a0afc744e8b9886f75cf7f6f14c78fb3'],
  [
    'oci1-all-media-types-to-schema2-config.json',
    'sha256:94ac69e4413476d061116c9d05757e46a0afc744e8b9886f75cf7f6f14c78fb3',
  ],
  ['oci1-all-media-types-to-schema2.json', 'sha256:d82a90937254e4b27b9bb58b824f8f9ccb3d4bb928ee80853dd8d81734bb1cc1'],
  ['oci1-all-media-types.json', 'sha256:6da70bb2ad666f8bc337f031901f3cdb30c0813cc526643063b265608cdb1432'],
  ['oci1-artifact.json', 'sha256:b26eabaea22efaea7960e5de08554d9a94a78ee7e625adf4ffd3fee741377c5e'],
  ['oci1-config-extra-fields.json', 'sha256:7f2a783ee2f07826b1856e68a40c930cd0430d6e7d4a88c29c2c8b7718706e74'],
  ['oci1-config.json', 'sha256:9ca4bda0a6b3727a6ffcc43e981cad0f24e2ec79d338f6ba325b4dfd0756fb8f'],
  ['oci1-extra-config-fields.json', 'sha256:52ffa87669ae6393b38aaf98332f0d3c54b13afe3d85882e51c7de8a75155352'],
  ['oci1-invalid-media-type.json', 'sha256:99c778437a0268378606f3e3bd1f63a66806dc832205d2c1ee93ccd6f1578a6c'],
  ['oci1-to-schema1.json', 'sha256:6feeaff9d4420e29f96881eb712e8762c28615666340222c8e054259f9bc87d4'],
  ['oci1-to-schema2-config.json', 'sha256:9ca4bda0a6b3727a6ffcc43e981cad0f24e2ec79d338f6ba325b4dfd0756fb8f'],
  ['oci1-to-schema2.json', 'sha256:b7d5a9dc81ffd13b0adc0041a5d2db746a6d22fae0a45907fe61f53c4b908762'],
  ['oci1.encrypted.json', 'sha256:e0d2534d022eaab2ec3998a4214055a999015ce415311516d144397462edc9d5'],
  ['oci1.index.everything.json', 'sha256:54a6da8248c7977f602d0d91bcda5247eecb6b40451dd0dfe50ad3c9bba47337'],
  ['oci1.index.zstd-selection.json', 'sha256:2ea9c6220065d09c3a968259aefc4828b8c6dd9705e0aec9412952fabc1b25d8'],
  ['oci1.index.zstd-selection2.json', 'sha256:7ef090e630d4ba2f476a335e332def5ff9028f8063530260f4762cbf82498a2c'],
  ['oci1.json', 'sha256:bfd7a7b14cfc6349bfbc291769692e4669470de97718d2ffab83273ea57474cb'],
  ['oci1index.json', 'sha256:f2f99b581189a99577e0e8344704b7d00736e554ef748d7e3e3cdc7113c0bf40'],
  ['ocilist-variants.json', 'sha256:65a5c903f49f59eadcdac913a0bf8ad01ecdc341f79ecbe826efeb7dfe244f4a'],
  ['ociv1.artifact.json', 'sha256:ec7d9117f157e92a0fa93de1c9ad07fd8e193dca520684b0a5d67f4f73cd03a0'],
  ['ociv1.encrypted.manifest.json', 'sha256:7e479471e858abc60460326fbd4c65a3c67e3a81ce04696c20280d22daa4ada9'],
  ['ociv1.everything.json', 'sha256:06abf9ac6245c106c285facaa0287ea2d37d537b181fc44ec82cd11f92f8fc52'],
  ['ociv1.image.index.json', 'sha256:d59976e8b293d743edfd0d9f985207acd97bcca66cb27506bc6e974af13f729e'],
  ['ociv1.invalid.mediatype.manifest.json', 'sha256:37cb608ff77bcaf5de6a6f33f5055ce5357ce5b807af584886773f81e79f2821'],
  ['ociv1.manifest.json', 'sha256:bb76e395cb9021fd062b352172ac87ca159b3e84f5a5758a69db824da876cd4f'],
  [
    'ociv1.nondistributable.gzip.manifest.json',
    'sha256:18c3b9e3a3a345289edbb70cdec3e58933f69b9c5ec5d6edd08d4a1d468677f8',
  ],
  ['ociv1.nondistributable.manifest.json', 'sha256:e90c291b43add9dc30e7e0ce048181aa7a6d257377d142ac735b0720d69301db'],
  [
    'ociv1.nondistributable.zstd.manifest.json',
    'sha256:d76927fd59050c01e85f80f1456a7c437537c30bdd775b736cc140ab76742e5b',
  ],
  ['ociv1.uncompressed.manifest.json', 'sha256:6190db23be224c28953e8007053ff6cf3b7de83ebd1162bcfc426aff52db2ff8'],
  ['ociv1.zstd.manifest.json', 'sha256:474b3a7602a3e91e23bad06a57a6533349076f3e568923962a5d823754c284d7'],
  ['ociv1nomime.artifact.json', 'sha256:d33c74c6e3aacaff74a6a22f22b2e5e6a04b120546a910d320fc6ba033136db8'],
  ['ociv1nomime.image.index.json', 'sha256:e23eee643694928ed2881e2bce25afd051cb2c8d2f0cbd46fb9f5e8e84ba23eb'],
  ['ociv1nomime.manifest.json', 'sha256:f94f91aaa4bfad8e67ef7f5cde3a0e908bd22e758868ca47227e60a8ea623d1c'],
  ['schema1-for-oci-config.json', 'sha256:163ac025575b775d1c0f9bf0bdd0f086883171eb475b5068e7defa4ca9e76516'],
  ['schema1-to-oci1-config.json', 'sha256:443155766ac2dc15e3bd34cf78720de329fcee1c0c29909d29eb75942d21fd9e'],
  ['schema1-to-oci1.json', 'sha256:4bbc23c9428eb7dce71618c1488bf557c55cb1688e48e5f76d1e996db2ee294e'],
  ['schema1-to-schema2-config.json', 'sha256:21261f3dce6019bf337819e2f1cbc33dadd5ea45b43ef355829df85ea985fbc8'],
  ['schema1-to-schema2.json', 'sha256:ae861a1c404017418fc90508c985f4fa20db8b12e7cc2bc56c07550bc8f318e0'],
  ['schema1.json', 'sha256:5a26403ca5f91c7f04300e397efc83960afbfe2d2b34314383a53e267a604455'],
  ['schema2-all-media-types-to-oci1.json', 'sha256:598b7674991bdd808996680337f90618833200ea26c92567f62464d8735296a4'],
  ['schema2-all-media-types.json', 'sha256:aef1535090a588dcdf5cc471898185ef5c9d109d396b5de5593a93dfea36c0c5'],
  ['schema2-config.json', 'sha256:9ca4bda0a6b3727a6ffcc43e981cad0f24e2ec79d338f6ba325b4dfd0756fb8f'],
  ['schema2-invalid-media-type.json', 'sha256:0e072114cf1727ca696cad8320d3ff3084d4d7d9fafa54175531ad72161da0cc'],
  ['schema2-to-oci1-config.json', 'sha256:e8b02b456633fd71f423dff777a99d3bc65fd5efc504f918e90de1942c224e6d'],
  ['schema2-to-oci1.json', 'sha256:62bf87d31a9f0b3f1694c220f0acaeab29e3d359512132c8965abc5effc8080b'],
  ['schema2-to-schema1-by-docker.json', 'sha256:c8a08b90c4899c341695c8b52733faace453cda3c20b2f9ad2c4390eac8eaee4'],
  ['schema2.json', 'sha256:aa0711c4fc25264ce59b5f9315b555ba1252ad0fbd0e290634b693df2045a072'],
  ['schema2list-variants.json', 'sha256:ef242b002798f7f699e06f62396fc96655b7d94cf873e540750da346d0574f3e'],
  ['schema2list.json', 'sha256:6e40af1c2ca008eecf9c4bb03674a3e73af1204e745d06900b7ca75deb94b6af'],
  ['unknown-version.manifest.json', 'sha256:dc5bc5be2ec1f465009f53b51d16bcc2a621e45c3fa0ac986dce9fcd88531ef5'],
  ['v2list.everything.json', 'sha256:4e2743cdbe56883fab1615414141d62b223371a52386ea24de60326b6b14439a'],
  ['v2list.manifest.json', 'sha256:ae55d2bdfcc9f24b2ac571f0081a64d6e6089b2c5e503ff3b718a646c26cbd3d'],
  ['v2s1-unsigned.manifest.json', 'sha256:7364fea9d84ee548ab67d4c46c6006289800c98de3fbf8c0a97138dfcc23f000'],
  ['v2s1.everything.json', 'sha256:c7df6b660bbfca36b1982b6bd656e0cbaf7ec3da06f6160204cd7b4aac6381c7'],
  ['v2s1.manifest.json', 'sha256:7364fea9d84ee548ab67d4c46c6006289800c98de3fbf8c0a97138dfcc23f000'],
  ['v2s2.everything.json', 'sha256:98647f54ad451f9ec107d39fb09339b25c7d565d7b76d0b524609d58b9295754'],
  ['v2s2.manifest.json', 'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55'],
  [
    'v2s2.nondistributable.gzip.manifest.json',
    'sha256:26e499a9096f21ed957b7241c7030cdee1590a3773c5878fab7b46c8e62b31bc',
  ],
  ['v2s2.nondistributable.manifest.json', 'sha256:daa7b79f2a653c7c9f8d517264dcf136112c2597699b38ae85a9143448fd75a5'],
  ['v2s2.uncompressed.manifest.json', 'sha256:a0f0dc47597e8c75a04162952c62187eada14be3f4ea3c08f85594d7cd3bcfea'],
  ['v2s2nomime.manifest.json', 'sha256:e7648e3307f0760138714bf63f73985c2ead2ed30ec7000378553e8be3d3f207'],
];

test('digests every fixture as skopeo manifest-digest does (signed schema1: the JWS payload)', () => {
  for (const [name, digest] of SKOPEO_DIGESTS) assert.equal(manifestDigest(fixture(name)), digest, name);
});

test('the digest of a signed schema1 manifest ignores its signatures', () => {
  assert.equal(manifestDigest(fixture('v2s1.manifest.json')), manifestDigest(fixture('v2s1-unsigned.manifest.json')));
  const bytes = fixture('v2s1.manifest.json');
  assert.notEqual(manifestDigest(bytes), `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
});

test('rejects a signed schema1 manifest whose signatures are not an array, as skopeo does', () => {
  assert.throws(
    () => manifestDigest(fixture('v2s1-invalid-signatures.manifest.json')),
    (e) => isFerryError(e, 'INVALID_MANIFEST'),
  );
});

test('other algorithms hash the same payload', () => {
  const d = manifestDigest(fixture('v2s2.manifest.json'), 'sha512');
  assert.match(d, /^sha512:[0-9a-f]{128}$/);
  assert.ok(manifestMatchesDigest(fixture('v2s2.manifest.json'), d));
  assert.ok(!manifestMatchesDigest(fixture('v2s1.manifest.json'), d));
});

test('matches skopeo manifest-digest on every fixture, run live', async () => {
  const names = readdirSync(fixturePath('manifest')).sort();
  for (const name of names) {
    const r = await run('skopeo', ['manifest-digest', fixturePath('manifest', name)]);
    if (r.code === 0) {
      assert.equal(manifestDigest(fixture(name)), r.stdout.trim(), name);
    } else {
      assert.throws(
        () => manifestDigest(fixture(name)),
        (e) => isFerryError(e, 'INVALID_MANIFEST'),
        name,
      );
    }
  }
});
