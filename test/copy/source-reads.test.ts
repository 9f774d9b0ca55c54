/** copy/source-reads.ts: one copy's reads of a source, each manifest and its signatures once. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readOnce } from '../../src/copy/source-reads.js';
import type { Digest } from '../../src/digest/digest.js';
import type { ImageReference, ImageSource } from '../../src/transports/types.js';

const A = `sha256:${'a'.repeat(64)}` as Digest;
const B = `sha256:${'b'.repeat(64)}` as Digest;

/** A source that counts its reads; `failFirst` makes the first read of each kind fail. */
function countingSource(failFirst = false) {
  const reads = { manifests: [] as (Digest | undefined)[], signatures: [] as (Digest | undefined)[] };
  const source: ImageSource = {
    reference: {} as ImageReference,
    hasThreadSafeGetBlob: true,
    async getManifest(instance) {
      reads.manifests.push(instance);
      if (failFirst && reads.manifests.length === 1) throw new Error('transient');
      return { bytes: Buffer.from(instance ?? 'top'), mimeType: 'application/vnd.oci.image.manifest.v1+json' };
    },
    async getSignatures(instance) {
      reads.signatures.push(instance);
      if (failFirst && reads.signatures.length === 1) throw new Error('transient');
      return [Buffer.from(`sig of ${instance ?? 'top'}`)];
    },
    getBlob: () => Promise.reject(new Error('not here')),
    close: async () => {},
  };
  return { source, reads };
}

describe('readOnce', () => {
  it('reads each manifest and each manifest’s signatures once, by instance', async () => {
    const { source, reads } = countingSource();
    const once = readOnce(source);
    const [top, again, a] = await Promise.all([once.getManifest(), once.getManifest(), once.getManifest(A)]);
    assert.equal(top.bytes.toString(), 'top');
    assert.equal(again, top);
    assert.equal(a.bytes.toString(), A);
    await once.getManifest(A);
    await once.getManifest(B);
    assert.deepEqual(reads.manifests, [undefined, A, B]);
    const first = await once.getSignatures(A);
    first.push(Buffer.from('added by a caller'));
    assert.deepEqual(
      (await once.getSignatures(A)).map(String),
      [`sig of ${A}`],
      'a caller’s change is not seen by the next one',
    );
    await once.getSignatures();
    assert.deepEqual(reads.signatures, [A, undefined]);
  });

  it('forgets a failed read: the next caller reads again', async () => {
    const { source, reads } = countingSource(true);
    const once = readOnce(source);
    await assert.rejects(once.getManifest(A), /transient/);
    assert.equal((await once.getManifest(A)).bytes.toString(), A);
    await assert.rejects(once.getSignatures(), /transient/);
    assert.equal((await once.getSignatures()).length, 1);
    assert.deepEqual(reads.manifests, [A, A]);
    assert.deepEqual(reads.signatures, [undefined, undefined]);
  });

  it('forwards the optional members the source has, and only those, called on the source', async () => {
    const { source } = countingSource();
    assert.equal('listReferrers' in readOnce(source), false);
    assert.equal('blobsCrossNetwork' in readOnce(source), false);
    // A class with private state: its methods must run with the source as `this`.
    class Tagged implements ImageSource {
      readonly #tags = new Map([['x', A]]);
      readonly reference = source.reference;
      readonly hasThreadSafeGetBlob = true;
      readonly blobsCrossNetwork = true;
      getManifest = source.getManifest;
      getSignatures = source.getSignatures;
      getBlob = source.getBlob;
      close = source.close;
      async getTaggedManifest(tag: string) {
        const digest = this.#tags.get(tag);
        return digest === undefined ? undefined : { bytes: Buffer.from(tag), mimeType: 'm', digest };
      }
    }
    const once = readOnce(new Tagged());
    assert.equal(once.blobsCrossNetwork, true);
    assert.equal((await once.getTaggedManifest?.('x'))?.digest, A);
    assert.equal(await once.getTaggedManifest?.('y'), undefined);
  });
});
