/**
 * `ferry list-tags` and inspect's RepoTags against a small fake registry (pages the real
 * Distribution 2.8 never sends, and refusals of the tags list it will not produce).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type FakeServer, json, startFakeServer } from '../registry-client/fake-server.js';
import { runFerry } from '../helpers/run.js';

const ALL_TAGS = Array.from({ length: 250 }, (_, i) => `v${String(i).padStart(3, '0')}`).reverse();
const PAGE = 100;

const config = Buffer.from(
  JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
);
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: [],
  }),
);

function send(res: ServerResponse, type: string, body: Buffer): void {
  res.writeHead(200, {
    'content-type': type,
    'content-length': String(body.length),
    'docker-content-digest': sha(body),
  });
  res.end(body);
}

/** Serves one image at x/y:v000 and x/y's tags in pages of 100 (`n` ignored), or a refusal of the list. */
function registry(tagsStatus: number): Promise<FakeServer> {
  return startFakeServer((req, res) => {
    const u = new URL(req.url ?? '', 'http://x');
    if (u.pathname.startsWith('/v2/x/y/manifests/'))
      return send(res, 'application/vnd.oci.image.manifest.v1+json', manifest);
    if (u.pathname === `/v2/x/y/blobs/${sha(config)}`) return send(res, 'application/octet-stream', config);
    if (u.pathname === '/v2/x/y/tags/list') {
      if (tagsStatus !== 200) {
        const code = tagsStatus === 401 ? 'UNAUTHORIZED' : tagsStatus === 403 ? 'DENIED' : 'UNKNOWN';
        return json(res, tagsStatus, { errors: [{ code, message: 'tag listing refused' }] });
      }
      const last = u.searchParams.get('last');
      const from = last === null ? 0 : ALL_TAGS.indexOf(last) + 1;
      const page = ALL_TAGS.slice(from, from + PAGE);
      const more = from + PAGE < ALL_TAGS.length;
      return json(
        res,
        200,
        { name: 'x/y', tags: page },
        more ? { link: `</v2/x/y/tags/list?last=${page.at(-1)}>; rel="next"` } : {},
      );
    }
    json(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'no such repository' }] });
  });
}

let ok: FakeServer;
let unauthorized: FakeServer;
let denied: FakeServer;
let broken: FakeServer;

before(async () => {
  [ok, unauthorized, denied, broken] = await Promise.all([registry(200), registry(401), registry(403), registry(500)]);
});
after(async () => {
  await Promise.all([ok, unauthorized, denied, broken].map((s) => s?.close()));
});

describe('ferry list-tags against a paging registry', () => {
  it("joins every Link page, in the registry's order, into skopeo's JSON", async () => {
    const r = await runFerry(['list-tags', '--tls-verify=false', `docker://${ok.host}/x/y`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${JSON.stringify({ Repository: `${ok.host}/x/y`, Tags: ALL_TAGS }, null, 4)}\n`);
    assert.equal(ok.requests.filter((q) => q.url.includes('/tags/list')).length, 3);
  });

  it('refuses a tagged or digested repository, as skopeo does', async () => {
    for (const ref of [`docker://${ok.host}/x/y:v000`, `docker://${ok.host}/x/y@${sha(manifest)}`]) {
      const r = await runFerry(['list-tags', '--tls-verify=false', ref]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /No tag or digest allowed in reference/);
    }
  });

  it('names the supported transports for any other transport, and refuses a name without one', async () => {
    const oci = await runFerry(['list-tags', 'oci:/nonexistent']);
    assert.equal(oci.code, 1);
    assert.match(oci.stderr, /Unsupported transport 'oci' for tag listing. Only supported: docker, docker-archive/);
    const bare = await runFerry(['list-tags', 'fedora']);
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /Invalid "fedora": does not specify a transport/);
  });

  it('reports a refused tag list as an error naming the registry', async () => {
    const r = await runFerry(['list-tags', '--tls-verify=false', `docker://${denied.host}/x/y`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`listing tags of ${denied.host}/x/y`));
  });
});

describe('ferry inspect RepoTags', () => {
  it('lists every tag of the repository', async () => {
    const r = await runFerry(['inspect', '--tls-verify=false', `docker://${ok.host}/x/y:v000`]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { Name: string; RepoTags: string[]; Digest: string };
    assert.equal(info.Name, `${ok.host}/x/y`);
    assert.equal(info.Digest, sha(manifest));
    assert.deepEqual(info.RepoTags, ALL_TAGS);
  });

  it('-n / --no-tags skips the tags list', async () => {
    const before = ok.requests.filter((q) => q.url.includes('/tags/list')).length;
    const r = await runFerry(['inspect', '-n', '--tls-verify=false', `docker://${ok.host}/x/y:v000`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { RepoTags: string[] }).RepoTags, []);
    assert.equal(ok.requests.filter((q) => q.url.includes('/tags/list')).length, before);
  });

  for (const [status, server] of [
    [401, () => unauthorized],
    [403, () => denied],
  ] as const) {
    it(`tolerates a ${status} on the tags list: RepoTags is null and a warning is printed`, async () => {
      const r = await runFerry(['inspect', '--tls-verify=false', `docker://${server().host}/x/y:v000`]);
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse(r.stdout) as { RepoTags: unknown; Digest: string };
      assert.equal(info.RepoTags, null);
      assert.equal(info.Digest, sha(manifest));
      assert.match(r.stderr, /registry disallows tag list retrieval; skipping/);
    });
  }

  it('fails on any other tags-list error', async () => {
    const r = await runFerry([
      'inspect',
      '--retry-times',
      '0',
      '--tls-verify=false',
      `docker://${broken.host}/x/y:v000`,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /determining repository tags: listing tags of/);
  });
});

describe('--retry-times and --retry-delay reach the registry client', () => {
  it('a 503 tags list is tried 1 + N times, N from --retry-times, then reported', async () => {
    const busy = await startFakeServer((_req, res) =>
      json(res, 503, { errors: [{ code: 'UNAVAILABLE', message: 'busy' }] }),
    );
    try {
      const tries = (): number => busy.requests.filter((q) => q.url.includes('/tags/list')).length;
      const twice = await runFerry([
        'list-tags',
        '--tls-verify=false',
        '--retry-times',
        '2',
        '--retry-delay',
        '10ms',
        `docker://${busy.host}/x/y`,
      ]);
      assert.equal(twice.code, 1);
      assert.match(twice.stderr, /503/);
      assert.equal(tries(), 3);
      const none = await runFerry([
        'list-tags',
        '--tls-verify=false',
        '--retry-times',
        '0',
        `docker://${busy.host}/x/y`,
      ]);
      assert.equal(none.code, 1);
      assert.equal(tries(), 4);
    } finally {
      await busy.close();
    }
  });
});
