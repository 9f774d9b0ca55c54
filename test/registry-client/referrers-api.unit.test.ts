/**
 * UNIT test against an in-process server implementing the OCI 1.1 referrers API: no registry with
 * that API can be installed on this machine (Debian's Distribution 2.8 has none; zot and
 * Distribution 3 are not packaged), so the API path (distribution-spec v1.1 "Listing Referrers":
 * pagination by Link, `OCI-Filters-Applied`, `OCI-Subject` on a PUT) and the hostile answers a real
 * registry will not give are exercised here. The tag-schema fallback is tested against the real
 * registry in test/integration/referrers.test.ts.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, test } from 'node:test';
import { referrersIndex, referrersTable } from '../../src/cli/referrers.js';
import { type Digest, digestOf } from '../../src/digest/digest.js';
import { isFerryError } from '../../src/errors.js';
import { RegistryClient, referrersTag } from '../../src/registry-client/index.js';
import { type FakeHandler, type FakeServer, json, startFakeServer } from './fake-server.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const SUBJECT = `sha256:${'a'.repeat(64)}` as Digest;
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

const servers: FakeServer[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function setup(handler: FakeHandler): Promise<{ server: FakeServer; client: RegistryClient }> {
  const server = await startFakeServer(handler);
  servers.push(server);
  const client = await RegistryClient.create(server.host, { tlsVerify: false, retry: { maxAttempts: 1 } });
  clients.push(client);
  return { server, client };
}

function desc(digest: string, artifactType: string, annotations?: Record<string, string>): Record<string, unknown> {
  return { mediaType: OCI_MANIFEST, digest, size: 100, artifactType, ...(annotations ? { annotations } : {}) };
}

function index(manifests: unknown[]): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('referrers API (in-process server, unit)', () => {
  test('pages followed by Link; a registry that applied the artifactType filter is trusted', async () => {
    const { client, server } = await setup((req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      if (url.pathname === `/v2/app/referrers/${SUBJECT}` && url.searchParams.get('page') === null) {
        assert.equal(url.searchParams.get('artifactType'), 'application/x-sbom');
        json(res, 200, index([desc(D1, 'application/x-sbom')]), {
          'content-type': OCI_INDEX,
          'oci-filters-applied': 'artifactType',
          link: `</v2/app/referrers/${SUBJECT}?artifactType=application%2Fx-sbom&page=2>; rel="next"`,
        });
        return;
      }
      if (url.pathname === `/v2/app/referrers/${SUBJECT}` && url.searchParams.get('page') === '2') {
        json(res, 200, index([desc(D2, 'application/x-sbom')]), {
          'content-type': OCI_INDEX,
          'oci-filters-applied': 'artifactType',
        });
        return;
      }
      json(res, 404, {});
    });
    const list = await client.listReferrers('app', SUBJECT, { artifactType: 'application/x-sbom' });
    assert.equal(list.source, 'api');
    assert.equal(list.filtersApplied, true);
    assert.deepEqual(
      list.manifests.map((d) => d.digest),
      [D1, D2],
    );
    assert.equal(server.requests.filter((r) => r.url.includes(referrersTag(SUBJECT))).length, 0);
  });

  test('a registry that ignored the filter (no OCI-Filters-Applied): Ferry filters', async () => {
    const { client } = await setup((req, res) => {
      if (req.url?.startsWith(`/v2/app/referrers/${SUBJECT}`)) {
        json(res, 200, index([desc(D1, 'application/x-sbom'), desc(D2, 'application/x-sig')]));
        return;
      }
      json(res, 404, {});
    });
    const list = await client.listReferrers('app', SUBJECT, { artifactType: 'application/x-sig' });
    assert.equal(list.filtersApplied, false);
    assert.deepEqual(
      list.manifests.map((d) => d.digest),
      [D2],
    );
  });

  test('a PUT answered with OCI-Subject leaves the tag index alone; without it the index is written', async () => {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/x-sig',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 },
        layers: [],
        subject: { mediaType: OCI_MANIFEST, digest: SUBJECT, size: 10 },
        annotations: { b: '2', a: '1' },
      }),
    );
    const digest = digestOf(manifest);
    let withSubjectHeader = true;
    const puts: { url: string; body: Buffer }[] = [];
    const { client } = await setup(async (req, res) => {
      if (req.method === 'PUT') {
        puts.push({ url: req.url ?? '', body: await body(req) });
        res.writeHead(201, withSubjectHeader ? { 'oci-subject': SUBJECT } : {});
        res.end();
        return;
      }
      json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
    });
    await client.putManifest('app', digest, manifest, OCI_MANIFEST);
    assert.deepEqual(
      puts.map((p) => p.url),
      [`/v2/app/manifests/${digest}`],
    );
    withSubjectHeader = false;
    puts.length = 0;
    await client.putManifest('app', digest, manifest, OCI_MANIFEST);
    assert.deepEqual(
      puts.map((p) => p.url),
      [`/v2/app/manifests/${digest}`, `/v2/app/manifests/${referrersTag(SUBJECT)}`],
    );
    const written = JSON.parse(puts[1]?.body.toString() ?? '{}') as { manifests: Record<string, unknown>[] };
    assert.deepEqual(written.manifests, [
      {
        mediaType: OCI_MANIFEST,
        digest,
        size: manifest.length,
        annotations: { a: '1', b: '2' },
        artifactType: 'application/x-sig',
      },
    ]);
  });

  test('hostile answers: a Link to another host, a bad digest, a non-index, too many pages', async () => {
    const { client: foreign } = await setup((_req, res) => {
      json(res, 200, index([]), { link: `<http://evil.example/v2/app/referrers/${SUBJECT}?p=2>; rel="next"` });
    });
    await assert.rejects(
      foreign.listReferrers('app', SUBJECT),
      (e) => isFerryError(e, 'REGISTRY_ERROR') && /another host/.test(e.message),
    );

    const { client: badDigest } = await setup((_req, res) => {
      json(res, 200, index([{ mediaType: OCI_MANIFEST, digest: 'sha256:xyz\u001b[31m', size: 1 }]));
    });
    await assert.rejects(badDigest.listReferrers('app', SUBJECT), (e) => {
      assert.ok(isFerryError(e, 'REGISTRY_ERROR'));
      assert.ok(!e.message.includes('\u001b'), `control character in ${JSON.stringify(e.message)}`);
      return true;
    });

    const { client: notIndex } = await setup((_req, res) => {
      json(res, 200, { schemaVersion: 2, mediaType: OCI_MANIFEST, manifests: [] });
    });
    await assert.rejects(
      notIndex.listReferrers('app', SUBJECT),
      (e) => isFerryError(e, 'REGISTRY_ERROR') && /not an OCI image index/.test(e.message),
    );

    let n = 0;
    const { client: endless } = await setup((_req, res) => {
      n++;
      json(res, 200, index([]), { link: `</v2/app/referrers/${SUBJECT}?p=${n}>; rel="next"` });
    });
    await assert.rejects(endless.listReferrers('app', SUBJECT, { maxPages: 5 }), (e) => isFerryError(e, 'TOO_LARGE'));
    assert.equal(n, 5);

    const { client: huge } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': OCI_INDEX });
      res.end(Buffer.alloc(5 * 1024 * 1024, 0x20));
    });
    await assert.rejects(huge.listReferrers('app', SUBJECT), (e) => isFerryError(e, 'TOO_LARGE'));
  });

  test('the CLI table escapes control characters a registry put in artifactType and annotations', () => {
    const listing = {
      subject: SUBJECT,
      source: 'api' as const,
      filtersApplied: false,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: D1 as Digest,
          size: 7,
          artifactType: 'application/x\u001b[2J',
          annotations: { k: 'v\nfake line' },
        },
      ],
    };
    const table = referrersTable(listing);
    assert.ok(!/[\u0000-\u0009\u000b-\u001f]/.test(table));
    assert.equal(table.split('\n').length, 3);
    assert.match(table, /application\/x\\u001b\[2J/);
    assert.deepEqual(referrersIndex(listing), {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [listing.manifests[0]],
    });
  });
});
