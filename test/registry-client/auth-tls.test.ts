/** RegistryClient with htpasswd (Basic) auth and with TLS, against the real Distribution registry. */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { RegistryClient } from '../../src/registry-client/index.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

/** The whole error as text: message, details and causes, where a leaked secret would show. */
function everything(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e, i = 0; cur !== undefined && cur !== null && i < 5; i++) {
    parts.push(String(cur), (cur as Error).stack ?? '', JSON.stringify((cur as { details?: unknown }).details ?? {}));
    cur = (cur as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

describe('RegistryClient with htpasswd auth', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
  });
  after(async () => {
    await reg?.stop();
  });

  test('the right credentials push and pull', async () => {
    const client = await RegistryClient.create(reg.host, {
      tlsVerify: false,
      credentials: { username: reg.username!, password: reg.password! },
    });
    try {
      const up = await client.uploadBlob('auth/img', Readable.from([Buffer.from('secret layer')]));
      assert.deepEqual(await client.blobExists('auth/img', up.digest), { size: 12 });
    } finally {
      await client.close();
    }
  });

  test('wrong credentials are UNAUTHORIZED and the password appears nowhere in the error', async () => {
    const password = 'Wr0ng-p4ssw0rd-that-must-not-leak';
    const client = await RegistryClient.create(reg.host, {
      tlsVerify: false,
      credentials: { username: reg.username!, password },
    });
    try {
      const err = await client.getManifest('auth/img', 'latest').then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
      assert.ok(isFerryError(err, 'UNAUTHORIZED'), String(err));
      assert.equal(err.details.credentialsRejected, true);
      const text = everything(err);
      assert.ok(!text.includes(password));
      assert.ok(!text.includes(Buffer.from(`${reg.username}:${password}`).toString('base64')));
    } finally {
      await client.close();
    }
  });

  test('no credentials, or noCreds despite credentials, are UNAUTHORIZED', async () => {
    for (const options of [{}, { noCreds: true, credentials: { username: reg.username!, password: reg.password! } }]) {
      const client = await RegistryClient.create(reg.host, { tlsVerify: false, ...options });
      try {
        await assert.rejects(client.listTags('auth/img'), (e: unknown) => isFerryError(e, 'UNAUTHORIZED'));
      } finally {
        await client.close();
      }
    }
  });
});

describe('RegistryClient over TLS', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ tls: true, auth: 'htpasswd' });
  });
  after(async () => {
    await reg?.stop();
  });

  test('trusts the registry through a CA in certDir, over https', async () => {
    const client = await RegistryClient.create(reg.host, {
      certDir: reg.certDir!,
      credentials: { username: reg.username!, password: reg.password! },
    });
    try {
      assert.equal(await client.ping(), reg.url);
      const up = await client.uploadBlob('tls/img', Readable.from([Buffer.from('over tls')]));
      assert.deepEqual(await client.blobExists('tls/img', up.digest), { size: 8 });
    } finally {
      await client.close();
    }
  });

  test('refuses the unknown CA without certDir, and accepts it with tlsVerify false (still https)', async () => {
    const strict = await RegistryClient.create(reg.host);
    try {
      await assert.rejects(strict.ping(), (e: unknown) => isFerryError(e, 'REGISTRY_UNREACHABLE'));
    } finally {
      await strict.close();
    }
    const lax = await RegistryClient.create(reg.host, { tlsVerify: false });
    try {
      assert.equal(await lax.ping(), reg.url);
    } finally {
      await lax.close();
    }
  });
});
