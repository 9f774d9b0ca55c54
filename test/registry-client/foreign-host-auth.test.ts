/**
 * Defect 1 of issue 10: a storage host the registry redirects a blob read to must never receive the
 * user's registry credentials, nor make Ferry send them to a token realm it names. The real
 * Distribution registry (htpasswd) sits behind an in-process forwarder that redirects blob GETs to a
 * "storage" server answering 401 with `Bearer realm=` a third server.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyImage, FerryError, parseImageReference } from '../../src/index.js';
import { makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

interface Recorder {
  url: string;
  /** Each request's URL and headers. */
  seen: { url: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Recorder> {
  const seen: Recorder['seen'] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let work = '';
let reg: TestRegistry;
let realm: Recorder;
let storage: Recorder;
let forwarder: Recorder;

before(async () => {
  work = await makeTempDir('ferry-foreign-auth-');
  reg = await startRegistry({ auth: 'htpasswd' });
  await makeImage(join(work, 'oci'), { tag: 't1', layers: 1, layerSize: 4000, seed: 7 });
  realm = await listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: 'stolen-token' }));
  });
  storage = await listen((_req, res) => {
    res.writeHead(401, {
      'www-authenticate': `Bearer realm="${realm.url}/token",service="storage"`,
      'content-length': '0',
    });
    res.end();
  });
  forwarder = await listen((req, res) => {
    if (req.method === 'GET' && /^\/v2\/.+\/blobs\/sha256:/.test(req.url ?? '')) {
      res.writeHead(307, { location: `${storage.url}${req.url}?X-Signed=1`, 'content-length': '0' });
      res.end();
      req.resume();
      return;
    }
    const upstream = request(
      `${reg.url}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: reg.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const credentials = { username: reg.username!, password: reg.password! };
  await copyImage(
    parseImageReference(`oci:${join(work, 'oci')}:t1`),
    parseImageReference(`docker://${reg.host}/app/x:t1`),
    {
      destinationOptions: { credentials, tlsVerify: false },
      blobInfoCache: 'memory',
    },
  );
});

after(async () => {
  await Promise.all([forwarder?.close(), storage?.close(), realm?.close(), reg?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('credentials and redirected storage hosts', () => {
  it('a 401 with a Bearer realm from a redirected host sends no credentials anywhere and fails with a typed error', async () => {
    const host = new URL(forwarder.url).host;
    const credentials = { username: reg.username!, password: reg.password! };
    await assert.rejects(
      copyImage(
        parseImageReference(`docker://${host}/app/x:t1`),
        parseImageReference(`oci:${join(work, 'pulled')}:t1`),
        {
          sourceOptions: { credentials, tlsVerify: false, retryTimes: 0 },
          blobInfoCache: 'memory',
        },
      ),
      (e: unknown) => {
        assert.ok(e instanceof FerryError, `not a FerryError: ${String(e)}`);
        assert.equal(e.code, 'REGISTRY_ERROR');
        assert.match(e.message, /storage host/);
        assert.match(e.message, /credentials are not sent to other hosts/);
        return true;
      },
    );
    assert.ok(storage.seen.length > 0, 'the redirect to the storage host was not followed');
    const secretForms = [
      reg.password!,
      Buffer.from(`${reg.username}:${reg.password}`).toString('base64'),
      Buffer.from(reg.password!).toString('base64'),
    ];
    for (const [name, server] of [
      ['storage', storage],
      ['realm', realm],
    ] as const) {
      for (const { url, headers } of server.seen) {
        assert.equal(headers.authorization, undefined, `the ${name} server received an Authorization header`);
        const all = decodeURIComponent(url) + JSON.stringify(headers);
        for (const form of secretForms) assert.ok(!all.includes(form), `the ${name} server received the password`);
      }
    }
    assert.equal(realm.seen.length, 0, 'a token was requested from a realm named by the storage host');
  });
});
