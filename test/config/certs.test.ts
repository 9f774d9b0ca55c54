import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { describe, test } from 'node:test';
import {
  certDirFor,
  certDirsFor,
  loadTLSFiles,
  loadTLSFilesFor,
  type TLSFiles,
  tlsConnectOptions,
  tlsSecureContext,
} from '../../src/config/certs.js';
import { deferExtraCACertificates } from '../../src/config/extra-ca.js';
import { isFerryError } from '../../src/errors.js';
import { startRegistry } from '../helpers/registry.js';
import { withTempDir } from '../helpers/tmp.js';

describe('certs.d directories', () => {
  test('the user, containers and docker directories are candidates in that order', () => {
    assert.deepEqual(certDirsFor('reg.example:5000', { env: { HOME: '/h' } }), [
      '/h/.config/containers/certs.d/reg.example:5000',
      '/etc/containers/certs.d/reg.example:5000',
      '/etc/docker/certs.d/reg.example:5000',
    ]);
    assert.equal(certDirsFor('r', { env: { XDG_CONFIG_HOME: '/x' } })[0], '/x/containers/certs.d/r');
  });

  test('an explicit --cert-dir is used alone', () => {
    assert.deepEqual(certDirsFor('reg.example', { certDir: '/my/certs' }), ['/my/certs']);
  });

  test('a host that would leave certs.d is refused', () => {
    assert.throws(
      () => certDirsFor('../etc', { env: { HOME: '/h' } }),
      (e: unknown) => isFerryError(e, 'INVALID_ARGUMENT'),
    );
  });

  test('the first existing directory is the one used', async () => {
    await withTempDir(async (dir) => {
      const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, 'cfg') };
      assert.equal(await certDirFor('nothing-here.invalid:1', { env }), undefined);
      const user = join(dir, 'cfg', 'containers', 'certs.d', 'nothing-here.invalid:1');
      await mkdir(user, { recursive: true });
      await writeFile(join(user, 'ca.crt'), 'CA');
      assert.equal(await certDirFor('nothing-here.invalid:1', { env }), user);
      assert.deepEqual((await loadTLSFilesFor('nothing-here.invalid:1', { env })).ca, [Buffer.from('CA')]);
    });
  });
});

describe('loading TLS files', () => {
  test('*.crt are CAs and *.cert + *.key are client pairs, in file-name order; other files are ignored', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'b.crt'), 'CA-B');
      await writeFile(join(dir, 'a.crt'), 'CA-A');
      await writeFile(join(dir, 'client.cert'), 'CERT');
      await writeFile(join(dir, 'client.key'), 'KEY');
      await writeFile(join(dir, 'z.cert'), 'CERT-Z');
      await writeFile(join(dir, 'z.key'), 'KEY-Z');
      await writeFile(join(dir, 'README'), 'ignored');
      const files = await loadTLSFiles(dir);
      assert.deepEqual(files.ca, [Buffer.from('CA-A'), Buffer.from('CA-B')]);
      assert.deepEqual(files.cert, Buffer.from('CERT'));
      assert.deepEqual(files.key, Buffer.from('KEY'));
      assert.deepEqual(
        files.clientCertificates.map((c) => [c.cert.toString(), c.key.toString()]),
        [
          ['CERT', 'KEY'],
          ['CERT-Z', 'KEY-Z'],
        ],
      );
    });
  });

  test('a key without its certificate is INVALID_CONFIG naming both files', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'client.key'), 'KEY');
      await assert.rejects(loadTLSFiles(dir), (e: unknown) => {
        assert.ok(isFerryError(e, 'INVALID_CONFIG'));
        assert.match(e.message, /missing client certificate client\.cert for key client\.key/);
        assert.ok(e.message.includes(dir));
        return true;
      });
    });
  });

  test('a certificate without its key is INVALID_CONFIG naming both files', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'client.cert'), 'CERT');
      await assert.rejects(loadTLSFiles(dir), (e: unknown) => {
        assert.ok(isFerryError(e, 'INVALID_CONFIG'));
        assert.match(e.message, /missing key client\.key for client certificate client\.cert/);
        return true;
      });
    });
  });

  test('a missing directory holds nothing', async () => {
    assert.deepEqual(await loadTLSFiles('/nonexistent/ferry/certs.d/x'), { ca: [], clientCertificates: [] });
  });

  test('connect options add the directory CAs to the system roots', () => {
    const opts = tlsConnectOptions({ ca: [Buffer.from('X')], clientCertificates: [] });
    assert.equal(opts.ca?.length, rootCertificates.length + 1);
    assert.deepEqual(tlsConnectOptions({ ca: [], clientCertificates: [] }), {});
  });

  test('the CA from a cert dir lets a TLS connection to the registry verify', async () => {
    const reg = await startRegistry({ tls: true });
    try {
      const get = (options: object): Promise<number> =>
        new Promise((resolve, reject) => {
          const req = request(`${reg.url}/v2/`, { ...options, method: 'GET' }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      await assert.rejects(get({}), /self[- ]signed|unable to verify|certificate/i);
      const files = await loadTLSFilesFor(reg.host, { certDir: reg.certDir });
      assert.equal(files.ca.length, 1);
      assert.equal(await get(tlsConnectOptions(files)), 200);
    } finally {
      await reg.stop();
    }
  });

  test('one TLS context serves every registry without CA files; none is made when node defaults do', () => {
    const empty = (): TLSFiles => ({ ca: [], clientCertificates: [] });
    assert.equal(tlsSecureContext(undefined), undefined);
    assert.equal(tlsSecureContext(empty()), undefined);
    const insecure = tlsSecureContext(empty(), false);
    assert.ok(insecure !== undefined, 'without verification a context without CAs is made');
    assert.equal(tlsSecureContext(empty(), false), insecure);
    assert.equal(tlsSecureContext(undefined, false), insecure);
    const files: TLSFiles = { ca: [Buffer.from('X')], clientCertificates: [] };
    assert.equal(tlsConnectOptions(files).ca?.length, rootCertificates.length + 1);
  });

  test('NODE_EXTRA_CA_CERTS handed over by bin/ferry is trusted when the first TLS context is made', async () => {
    const reg = await startRegistry({ tls: true });
    try {
      assert.ok(reg.caPath);
      deferExtraCACertificates(reg.caPath);
      const context = tlsSecureContext(undefined);
      assert.ok(context !== undefined);
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${reg.url}/v2/`, { method: 'GET', ...({ secureContext: context } as object) }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
    } finally {
      deferExtraCACertificates('');
      await reg.stop();
    }
  });
});
