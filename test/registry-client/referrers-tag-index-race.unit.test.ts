/**
 * UNIT test against an in-process server that honours `If-Match` / `If-None-Match` on a manifest PUT:
 * the real registry of the integration tests (Distribution 2.8.2) ignores both on a PUT (it answers
 * 201 whatever they say), so the conditional update of the referrers tag schema index
 * (distribution-spec v1.1 "Referrers Tag Schema": concurrent writers, ETag conditions) can only be
 * raced here. That Ferry keeps working against a registry that ignores the conditions is checked
 * against Distribution in test/integration/referrers.test.ts.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, test } from 'node:test';
import { type Digest, digestOf } from '../../src/digest/digest.js';
import { isFerryError } from '../../src/errors.js';
import { RegistryClient, referrersTag } from '../../src/registry-client/index.js';
import { MAX_TAG_INDEX_ROUNDS } from '../../src/registry-client/referrers.js';
import { type FakeServer, json, startFakeServer } from './fake-server.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const SUBJECT = `sha256:${'a'.repeat(64)}` as Digest;
const TAG = referrersTag(SUBJECT);
const TAG_PATH = `/v2/app/manifests/${TAG}`;

const servers: FakeServer[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
});

/** An artifact manifest whose `subject` is SUBJECT. */
function referrer(name: string): { bytes: Buffer; digest: Digest } {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: `application/x-${name}`,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 },
      layers: [],
      subject: { mediaType: OCI_MANIFEST, digest: SUBJECT, size: 10 },
    }),
  );
  return { bytes, digest: digestOf(bytes) };
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Stored {
  bytes: Buffer;
  etag: string;
}

interface ConditionalRegistry {
  server: FakeServer;
  /** Manifests by tag or digest. */
  store: Map<string, Stored>;
  /** The tag PUTs as seen: their conditions, and what they were answered. */
  tagPuts: { ifMatch?: string; ifNoneMatch?: string; status: number }[];
  /** Run once, while the first tag PUT is held (before its conditions are checked). */
  beforeFirstTagPut?: () => Promise<void>;
  /** Answer every tag PUT that carries a condition with 412. */
  alwaysConflict: boolean;
}

/** A registry without the referrers API whose manifest PUTs honour If-Match / If-None-Match (RFC 9110 §13.1). */
async function conditionalRegistry(): Promise<ConditionalRegistry> {
  const reg: ConditionalRegistry = {
    server: undefined as unknown as FakeServer,
    store: new Map(),
    tagPuts: [],
    alwaysConflict: false,
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '', 'http://x').pathname;
    const ref = path.startsWith('/v2/app/manifests/') ? path.slice('/v2/app/manifests/'.length) : undefined;
    if (ref === undefined) return json(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'no such path' }] });
    if (req.method === 'GET' || req.method === 'HEAD') {
      const m = reg.store.get(ref);
      if (m === undefined)
        return json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
      res.writeHead(200, {
        'content-type': ref === TAG ? OCI_INDEX : OCI_MANIFEST,
        'content-length': String(m.bytes.length),
        'docker-content-digest': digestOf(m.bytes),
        etag: m.etag,
      });
      res.end(req.method === 'GET' ? m.bytes : undefined);
      return;
    }
    if (req.method !== 'PUT') return json(res, 405, {});
    const bytes = await body(req);
    if (ref === TAG) {
      const hook = reg.beforeFirstTagPut;
      reg.beforeFirstTagPut = undefined;
      if (hook !== undefined) await hook();
      const ifMatch = req.headers['if-match'];
      const ifNoneMatch = req.headers['if-none-match'];
      const current = reg.store.get(ref);
      const failed =
        (reg.alwaysConflict && (ifMatch !== undefined || ifNoneMatch !== undefined)) ||
        (ifMatch !== undefined && current?.etag !== ifMatch) ||
        (ifNoneMatch === '*' && current !== undefined);
      const status = failed ? 412 : 201;
      reg.tagPuts.push({
        ...(ifMatch === undefined ? {} : { ifMatch }),
        ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }),
        status,
      });
      if (failed) return json(res, 412, { errors: [{ code: 'PRECONDITION_FAILED', message: 'etag mismatch' }] });
    }
    reg.store.set(ref, { bytes, etag: `"${digestOf(bytes)}"` });
    res.writeHead(201, { 'docker-content-digest': digestOf(bytes), 'content-length': '0' });
    res.end();
  };
  reg.server = await startFakeServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.destroy(e as Error);
    });
  });
  servers.push(reg.server);
  return reg;
}

async function client(reg: ConditionalRegistry): Promise<RegistryClient> {
  const c = await RegistryClient.create(reg.server.host, { tlsVerify: false, retry: { maxAttempts: 1 } });
  clients.push(c);
  return c;
}

function indexDigests(reg: ConditionalRegistry): string[] {
  const index = reg.store.get(TAG);
  assert.ok(index !== undefined, 'the tag index exists');
  return (JSON.parse(index.bytes.toString()) as { manifests: { digest: string }[] }).manifests.map((d) => d.digest);
}

describe('referrers tag index: conditional update against concurrent writers (in-process server, unit)', () => {
  test('a writer that lost the race (412 on If-Match) reads again and merges: both descriptors are kept', async () => {
    const reg = await conditionalRegistry();
    const [ours, theirs] = [await client(reg), await client(reg)];
    const first = referrer('first');
    await ours.putManifest('app', first.digest, first.bytes, OCI_MANIFEST);
    const etagBefore = reg.store.get(TAG)?.etag;
    assert.deepEqual(indexDigests(reg), [first.digest]);

    // Our write of `mine` is held after our GET; meanwhile another client adds `other` in full.
    const mine = referrer('sbom');
    const other = referrer('sig');
    let etagAfterTheirs: string | undefined;
    reg.beforeFirstTagPut = async () => {
      await theirs.putManifest('app', other.digest, other.bytes, OCI_MANIFEST);
      etagAfterTheirs = reg.store.get(TAG)?.etag;
    };
    reg.tagPuts.length = 0;
    await ours.putManifest('app', mine.digest, mine.bytes, OCI_MANIFEST);

    assert.deepEqual(indexDigests(reg).sort(), [first.digest, other.digest, mine.digest].sort());
    assert.notEqual(etagAfterTheirs, etagBefore);
    assert.deepEqual(
      reg.tagPuts.map((p) => [p.ifMatch, p.status]),
      [
        [etagBefore, 201], // theirs, done while ours was held
        [etagBefore, 412], // ours, against the index it had read
        [etagAfterTheirs, 201], // ours again, against the index that holds theirs
      ],
    );
  });

  test('two writers creating the index: If-None-Match: * loses to the first, the second merges', async () => {
    const reg = await conditionalRegistry();
    const [ours, theirs] = [await client(reg), await client(reg)];
    const mine = referrer('sbom');
    const other = referrer('sig');
    reg.beforeFirstTagPut = async () => {
      await theirs.putManifest('app', other.digest, other.bytes, OCI_MANIFEST);
    };
    await ours.putManifest('app', mine.digest, mine.bytes, OCI_MANIFEST);
    assert.deepEqual(indexDigests(reg).sort(), [other.digest, mine.digest].sort());
    assert.deepEqual(
      reg.tagPuts.map((p) => [p.ifNoneMatch ?? null, p.ifMatch === undefined ? null : 'etag', p.status]),
      [
        ['*', null, 201], // theirs, done while ours was held
        ['*', null, 412], // ours: the tag exists now
        [null, 'etag', 201], // ours again, against the index that holds theirs
      ],
    );
  });

  test('a registry that always answers 412: bounded retries, then CONCURRENT_UPDATE naming repository and tag', async () => {
    const reg = await conditionalRegistry();
    const c = await client(reg);
    const first = referrer('first');
    await c.putManifest('app', first.digest, first.bytes, OCI_MANIFEST);
    reg.alwaysConflict = true;
    reg.tagPuts.length = 0;
    const getsBefore = reg.server.requests.filter((r) => r.method === 'GET' && r.url === TAG_PATH).length;
    const mine = referrer('sbom');
    await assert.rejects(c.putManifest('app', mine.digest, mine.bytes, OCI_MANIFEST), (e) => {
      assert.ok(isFerryError(e, 'CONCURRENT_UPDATE'), String(e));
      assert.equal(e.details.repository, 'app');
      assert.equal(e.details.tag, TAG);
      assert.ok(e.message.includes(`${reg.server.host}/app:${TAG}`), e.message);
      return true;
    });
    assert.equal(reg.tagPuts.length, MAX_TAG_INDEX_ROUNDS);
    assert.ok(reg.tagPuts.every((p) => p.status === 412));
    const gets = reg.server.requests.filter((r) => r.method === 'GET' && r.url === TAG_PATH).length - getsBefore;
    assert.equal(gets, MAX_TAG_INDEX_ROUNDS);
    assert.deepEqual(indexDigests(reg), [first.digest]);
  });
});
