/**
 * One ping and one connection pool per registry per process: two clients of the same registry with
 * the same settings (a copy's source and destination) share the ping's answer and the keep-alive
 * connections, counted by a TCP relay in front of the real Distribution registry; other settings
 * get their own; a pool stays usable until its last client closes.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, connect } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import type { Digest } from '../../src/digest/digest.js';
import { MediaType } from '../../src/manifest/mediatypes.js';
import { forgetRegistryPings, RegistryClient } from '../../src/registry-client/index.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let reg: TestRegistry;
let relay: Server;
let relayHost = '';
let connections = 0;
let pings = 0;
/** A blob above the 128 KiB that dump() reads of a body: its HEAD announces that Content-Length. */
const big = Buffer.alloc(1024 * 1024, 7);

before(async () => {
  reg = await startRegistry();
  relay = createServer((client) => {
    const upstream = connect(reg.port, '127.0.0.1');
    let first = true;
    client.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      // Plain-http connections only: the https attempt of an unverified ping (a TLS hello) may
      // reach the relay at any time, and is not a connection the pool keeps.
      if (first && /^[A-Z]+ \//.test(text)) connections++;
      first = false;
      if (text.startsWith('GET /v2/ HTTP')) pings++;
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const address = relay.address();
  relayHost = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  // One image in the registry, pushed directly.
  const client = await RegistryClient.create(reg.host, { tlsVerify: false });
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  await client.uploadBlob('shared/img', Readable.from([config]), { digest: sha(config), size: config.length });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: { mediaType: MediaType.OCI_CONFIG, digest: sha(config), size: config.length },
      layers: [],
    }),
  );
  await client.putManifest('shared/img', 't', manifest, MediaType.OCI_MANIFEST);
  await client.uploadBlob('shared/img', Readable.from([big]), { digest: sha(big), size: big.length });
  await client.close();
});

after(async () => {
  await new Promise((resolve) => relay?.close(resolve));
  await reg?.stop();
});

describe('clients of one registry share', () => {
  test('the ping and the connections of two clients with the same settings', async () => {
    forgetRegistryPings();
    connections = 0;
    pings = 0;
    const source = await RegistryClient.create(relayHost, { tlsVerify: false });
    const destination = await RegistryClient.create(relayHost, { tlsVerify: false });
    const fetched = await source.getManifest('shared/img', 't');
    const opened = connections;
    const head = await destination.headManifest('shared/img', 't');
    assert.equal(head?.digest, fetched.digest);
    assert.equal(pings, 1, 'the second client pinged again');
    assert.equal(connections, opened, 'the second client opened its own connection');
    // Closing one leaves the pool to the other.
    await source.close();
    assert.equal((await destination.headManifest('shared/img', 't'))?.digest, fetched.digest);
    await destination.close();
  });

  test('other settings (a User-Agent) get their own pool, but the same ping answer', async () => {
    forgetRegistryPings();
    connections = 0;
    pings = 0;
    const a = await RegistryClient.create(relayHost, { tlsVerify: false });
    const b = await RegistryClient.create(relayHost, { tlsVerify: false, userAgent: 'other-agent/1' });
    await a.headManifest('shared/img', 't');
    const opened = connections;
    await b.headManifest('shared/img', 't');
    assert.equal(pings, 1);
    assert.equal(connections, opened + 1, 'a client with another User-Agent used the pool of the first');
    await a.close();
    await b.close();
  });

  test('after the last client closed, a new client connects again and reuses the ping answer', async () => {
    forgetRegistryPings();
    const first = await RegistryClient.create(relayHost, { tlsVerify: false });
    await first.headManifest('shared/img', 't');
    await first.close();
    connections = 0;
    pings = 0;
    const second = await RegistryClient.create(relayHost, { tlsVerify: false });
    assert.ok((await second.headManifest('shared/img', 't'))?.digest?.startsWith('sha256:'));
    assert.equal(pings, 0);
    assert.equal(connections, 1);
    await second.close();
  });
});

describe('keep-alive', () => {
  test('manifest and blob HEADs, and the GETs between them, reuse one connection', async () => {
    forgetRegistryPings();
    const client = await RegistryClient.create(relayHost, { tlsVerify: false, userAgent: 'keep-alive-test/1' });
    try {
      await client.headManifest('shared/img', 't'); // the ping and the first connection
      connections = 0;
      for (let i = 0; i < 20; i++) {
        assert.ok((await client.headManifest('shared/img', 't'))?.digest?.startsWith('sha256:'));
        assert.equal((await client.blobExists('shared/img', sha(big)))?.size, big.length);
        if (i % 5 === 0) assert.ok((await client.getManifest('shared/img', 't')).bytes.length > 0);
      }
      assert.equal(connections, 0, `${connections} new connections for 44 requests`);
    } finally {
      await client.close();
    }
  });
});
