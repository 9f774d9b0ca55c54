/** skopeo sync's YAML source: skopeo's documented example reads as skopeo reads it; what Ferry cannot read exactly is refused with file and line. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError, parseSyncConfig } from '../../src/index.js';

const SKOPEO_EXAMPLE = `registry.example.com:
    images:
        busybox: []
        redis:
            - "1.0"
            - "2.0"
            - "sha256:0000000000000000000000000000000011111111111111111111111111111111"
    images-by-tag-regex:
        nginx: ^1\\.13\\.[12]-alpine-perl$
    images-by-semver:
        alpine: ">= 3.12.0"
    credentials:
        username: john
        password: this is a secret
    tls-verify: true
    cert-dir: /home/john/certs
quay.io:
    tls-verify: false
    images:
        coreos/etcd:
            - latest
`;

function refused(text: string, line: number, rule: RegExp): void {
  assert.throws(
    () => parseSyncConfig(text, 'sync.yml'),
    (e: unknown) =>
      e instanceof FerryError &&
      e.code === 'INVALID_CONFIG' &&
      e.message.startsWith(`sync.yml: line ${line}: `) &&
      rule.test(e.message),
  );
}

describe('sync YAML file', () => {
  it("reads skopeo-sync(1)'s example: registries in file order, every key", () => {
    const [example, quay, ...rest] = parseSyncConfig(SKOPEO_EXAMPLE, 'sync.yml');
    assert.equal(rest.length, 0);
    assert.equal(example?.registry, 'registry.example.com');
    assert.deepEqual(
      [...(example?.images ?? [])],
      [
        ['busybox', []],
        ['redis', ['1.0', '2.0', 'sha256:0000000000000000000000000000000011111111111111111111111111111111']],
      ],
    );
    assert.deepEqual([...(example?.imagesByTagRegex ?? [])], [['nginx', '^1\\.13\\.[12]-alpine-perl$']]);
    assert.deepEqual([...(example?.imagesBySemver ?? [])], [['alpine', '>= 3.12.0']]);
    assert.deepEqual(example?.credentials, { username: 'john', password: 'this is a secret' });
    assert.equal(example?.tlsVerify, true);
    assert.equal(example?.certDir, '/home/john/certs');
    assert.equal(quay?.registry, 'quay.io');
    assert.equal(quay?.tlsVerify, false);
    assert.equal(quay?.certDir, undefined);
    assert.deepEqual([...(quay?.images ?? [])], [['coreos/etcd', ['latest']]]);
  });

  it('reads a repository with no value as every tag, flow lists, items at the key column and host:port names', () => {
    const [r] = parseSyncConfig('127.0.0.1:5000:\n  images:\n    a:\n    b: [x, "y"]\n    c:\n    - z\n', 'sync.yml');
    assert.equal(r?.registry, '127.0.0.1:5000');
    assert.deepEqual(
      [...(r?.images ?? [])],
      [
        ['a', []],
        ['b', ['x', 'y']],
        ['c', ['z']],
      ],
    );
  });

  it('refuses unknown keys, wrong types and YAML it cannot read exactly, naming the line', () => {
    refused('quay.io:\n  images-by-tag-regexp:\n    a: x\n', 2, /unknown key "quay.io.images-by-tag-regexp"/);
    refused('quay.io:\n  credentials:\n    user: x\n', 3, /unknown key "quay.io.credentials.user"/);
    refused('quay.io:\n  tls-verify: maybe\n', 2, /must be true or false/);
    refused('quay.io:\n  images:\n    a: latest\n', 3, /must be a list of tags or digests/);
    refused('quay.io:\n  images:\n    a:\n      - x: y\n', 4, /must be a scalar/);
    refused('quay.io:\n  images-by-semver:\n    a: >= 1.0\n', 3, /unsupported YAML syntax/);
    refused('quay.io:\n  images:\n    a: [x, [y]]\n', 3, /flow sequence/);
  });
});
