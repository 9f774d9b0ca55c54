import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { goMarshal } from '../../src/manifest/json.js';
import { dockerVersionBefore183, reencodeV1Image } from '../../src/manifest/v1-image.js';

test("Docker versions compare as Docker's versions.LessThan does: dot parts as integers, anything else 0", () => {
  const before = ['1.6.2', '1.8.2', '1.8', '0.9.9', '1.7.1-rc1', '1.8.2.9', 'x', '1.-8.3'];
  const notBefore = ['1.8.3', '1.8.3.0', '1.9', '1.10.0', '17.03.1-ce', '2', '1.8.10', '1.8.+3'];
  for (const v of before) assert.equal(dockerVersionBefore183(v), true, v);
  for (const v of notBefore) assert.equal(dockerVersionBefore183(v), false, v);
});

test("an old v1Compatibility is re-encoded in Go's struct order with its zero values; unknown fields go", () => {
  const out = goMarshal(
    reencodeV1Image(
      {
        zzz: 1,
        ID: 'abc',
        size: 5,
        docker_version: '1.6.2',
        config: { cmd: 'sh', Labels: { b: '1', a: '2' }, ExposedPorts: {}, Shell: [], StopTimeout: 0 },
      },
      'v1',
    ),
  ).toString('utf8');
  const zeroConfig =
    '"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null';
  assert.equal(
    out,
    `{"id":"abc","created":"0001-01-01T00:00:00Z","container_config":{${zeroConfig},"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},` +
      `"docker_version":"1.6.2","config":{${zeroConfig},"Cmd":["sh"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{"a":"2","b":"1"},"StopTimeout":0},"Size":5}`,
  );
});

test('a v1Compatibility field of the wrong type is INVALID_MANIFEST naming the field', () => {
  assert.throws(
    () => reencodeV1Image({ config: { Env: 'A=1' } }, 'history[0].v1Compatibility'),
    (e) => isFerryError(e, 'INVALID_MANIFEST') && e.message === 'history[0].v1Compatibility.config.Env is not an array',
  );
  assert.throws(
    () => reencodeV1Image({ created: 'yesterday' }, 'v1'),
    (e) => isFerryError(e, 'INVALID_MANIFEST'),
  );
});
