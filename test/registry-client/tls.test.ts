/** Certificate directories: `*.crt` CAs added to the system ones, `*.cert`/`*.key` client pairs. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { describe, test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { loadCertDir } from '../../src/registry-client/tls.js';
import { withTempDir } from '../helpers/tmp.js';

describe('loadCertDir', () => {
  test('adds *.crt files to the system CAs and reads a client pair', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'ca.crt'), 'CA PEM');
      await writeFile(join(dir, 'client.cert'), 'CERT PEM');
      await writeFile(join(dir, 'client.key'), 'KEY PEM');
      await writeFile(join(dir, 'README'), 'ignored');
      const m = await loadCertDir(dir);
      assert.equal(m.ca?.length, rootCertificates.length + 1);
      assert.equal(m.ca?.at(-1), 'CA PEM');
      assert.equal(m.cert, 'CERT PEM');
      assert.equal(m.key, 'KEY PEM');
    });
  });

  test('refuses a key without its certificate and a certificate without its key', async () => {
    for (const lone of ['client.key', 'client.cert']) {
      await withTempDir(async (dir) => {
        await writeFile(join(dir, lone), 'PEM');
        await assert.rejects(loadCertDir(dir), (e: unknown) => isFerryError(e, 'INVALID_CONFIG') && e.message.includes('missing'));
      });
    }
  });

  test('a directory that does not exist adds nothing', async () => {
    await withTempDir(async (dir) => {
      assert.deepEqual(await loadCertDir(join(dir, 'absent')), {});
    });
  });
});
