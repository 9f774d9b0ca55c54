import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../../src/errors.js';
import {
  goTime,
  goTimeString,
  ociConfigFromDockerConfig,
  ociImageConfig,
  parseImageConfig,
} from '../../src/manifest/config.js';

const dockerConfig = {
  zzz_unknown: { a: 1 },
  Architecture: 'arm64',
  variant: 'v8',
  os: 'linux',
  'os.version': '10.0.1',
  'os.features': ['win32k'],
  author: 'Me <me@x>',
  created: '2024-05-06T07:08:09.120000000+02:00',
  docker_version: '20.10.7',
  container: 'abc',
  container_config: { Hostname: 'h' },
  config: {
    Hostname: 'h',
    User: 'u',
    Memory: 10,
    ExposedPorts: { '80/tcp': {}, '443/tcp': {} },
    Env: [],
    Healthcheck: { Test: ['CMD', 'true'] },
    Labels: { z: '1', a: '2' },
    OnBuild: ['RUN x'],
    Shell: ['/bin/bash'],
  },
  rootfs: { type: 'layers', diff_ids: ['sha256:00'] },
  history: [{ created: '2024-05-06T07:08:10.5Z', created_by: 'CMD', empty_layer: true }],
};
const bytes = Buffer.from(JSON.stringify(dockerConfig));

describe('image config', () => {
  it('formats times as Go does', () => {
    assert.equal(goTime('2024-01-01T00:00:00.500000000Z', 't'), '2024-01-01T00:00:00.5Z');
    assert.equal(goTime('2024-01-01T00:00:00+00:00', 't'), '2024-01-01T00:00:00Z');
    assert.equal(goTime('2024-01-01T01:00:00+01:00', 't'), '2024-01-01T01:00:00+01:00');
    assert.equal(goTimeString('2024-01-01T00:00:00Z'), '2024-01-01 00:00:00 +0000 UTC');
    assert.equal(goTimeString('2024-01-01T01:00:00.5+01:00'), '2024-01-01 01:00:00.5 +0100 +0100');
  });

  it('reads the OCI and Docker fields, names case-insensitively, and keeps unknown ones in raw', () => {
    const c = parseImageConfig(bytes);
    assert.equal(c.architecture, 'arm64');
    assert.equal(c.variant, 'v8');
    assert.equal(c.osVersion, '10.0.1');
    assert.deepEqual(c.osFeatures, ['win32k']);
    assert.equal(c.created, '2024-05-06T07:08:09.12+02:00');
    assert.equal(c.dockerVersion, '20.10.7');
    assert.equal(c.container, 'abc');
    assert.deepEqual(c.containerConfig, { Hostname: 'h' });
    assert.equal(c.config.Memory, 10);
    assert.deepEqual(c.config.Healthcheck, { Test: ['CMD', 'true'] });
    assert.deepEqual(c.config.OnBuild, ['RUN x']);
    assert.deepEqual(c.config.Shell, ['/bin/bash']);
    assert.deepEqual(c.config.Env, [], 'an empty list is kept: Go tells it from an absent one');
    assert.deepEqual(Object.keys(c.config.Labels ?? {}), ['a', 'z']);
    assert.deepEqual(c.history, [{ created: '2024-05-06T07:08:10.5Z', createdBy: 'CMD', emptyLayer: true }]);
    assert.deepEqual(c.raw['zzz_unknown'], { a: 1 });
  });

  it('refuses a known field of the wrong type, naming it', () => {
    for (const [bad, name] of [
      [{ architecture: 5 }, 'architecture'],
      [{ config: { Labels: { a: 1 } } }, 'Labels'],
      [{ config: { Memory: 'x' } }, 'Memory'],
      [{ created: 'yesterday' }, 'created'],
      [{ rootfs: { diff_ids: 'x' } }, 'diff_ids'],
    ] as const) {
      assert.throws(
        () => parseImageConfig(Buffer.from(JSON.stringify(bad))),
        (e: unknown) => e instanceof FerryError && e.code === 'INVALID_MANIFEST' && e.message.includes(name),
      );
    }
  });

  it('views the config through the OCI Image struct: its order, Docker fields and empty values dropped', () => {
    const view = ociImageConfig(parseImageConfig(bytes));
    assert.deepEqual(Object.keys(view), [
      'created',
      'author',
      'architecture',
      'variant',
      'os',
      'os.version',
      'os.features',
      'config',
      'rootfs',
      'history',
    ]);
    assert.deepEqual(view['config'], {
      User: 'u',
      ExposedPorts: { '443/tcp': {}, '80/tcp': {} },
      Labels: { a: '2', z: '1' },
    });
    assert.deepEqual(view['rootfs'], { type: 'layers', diff_ids: ['sha256:00'] });
    assert.deepEqual(ociImageConfig(parseImageConfig(Buffer.from('{}'))), {
      architecture: '',
      os: '',
      config: {},
      rootfs: { type: '', diff_ids: null },
    });
  });

  it('conversion to OCI writes the same view, compact as Go marshals it', () => {
    const converted = ociConfigFromDockerConfig(bytes).toString('utf8');
    assert.ok(
      converted.startsWith(
        '{"created":"2024-05-06T07:08:09.12+02:00","author":"Me \\u003cme@x\\u003e","architecture":"arm64","variant":"v8","os":"linux",',
      ),
    );
    assert.deepEqual(JSON.parse(converted), ociImageConfig(parseImageConfig(bytes)));
  });
});
