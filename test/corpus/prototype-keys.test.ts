/**
 * Defect 7a: lookups by keys that come from input (an architecture, a media type, an image name, a
 * transport name) never reach Object.prototype's members (`constructor`, `__proto__`, `toString`...).
 * auth.json credHelpers/auths are covered in config-files.test.ts, transport names in references.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { extract } from 'tar-stream';
import { FerryError } from '../../src/errors.js';
import { copyImage, parseImageReference } from '../../src/index.js';
import {
  convertImageManifest,
  type ImageManifest,
  MediaType,
  parseManifest,
  wantedPlatforms,
} from '../../src/manifest/index.js';
import { parseRegistriesConf } from '../../src/config/index.js';
import { fixturePath } from '../helpers/paths.js';
import { makeImage } from '../helpers/make-image.js';
import { withTempDir } from '../helpers/tmp.js';

const PROTO_KEYS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

test('an architecture named like an Object.prototype member is an ordinary architecture', () => {
  for (const architecture of PROTO_KEYS) {
    for (const variant of [undefined, 'v7']) {
      const wanted = wantedPlatforms({ os: 'linux', architecture, variant });
      assert.deepEqual(wanted[0], variant ? { os: 'linux', architecture, variant } : { os: 'linux', architecture });
      for (const p of wanted)
        assert.equal(typeof p.variant === 'string' || p.variant === undefined, true, `variant of ${architecture}`);
    }
  }
});

test('a layer media type named like an Object.prototype member has no Docker or OCI equivalent', () => {
  const oci = JSON.parse(readFileSync(fixturePath('manifest', 'oci1.json'), 'utf8')) as {
    layers: { mediaType: string }[];
  };
  for (const key of PROTO_KEYS) {
    for (const l of oci.layers) l.mediaType = key;
    const m = parseManifest(Buffer.from(JSON.stringify(oci)), MediaType.OCI_MANIFEST) as ImageManifest;
    assert.throws(
      () =>
        convertImageManifest(m, MediaType.DOCKER_V2_SCHEMA2, {
          config: readFileSync(fixturePath('manifest', 'oci1-config.json')),
        }),
      (e: unknown) => e instanceof FerryError && e.code === 'CONVERSION_UNSUPPORTED',
      key,
    );
  }
});

test('registries.conf aliases named like Object.prototype members are only there when set', () => {
  const conf = parseRegistriesConf('[aliases]\nfoo = "x.io/foo"\n', 'inline.conf');
  for (const key of PROTO_KEYS) assert.equal(conf.aliases[key], undefined, key);
  const set = parseRegistriesConf('[aliases]\nconstructor = "x.io/c"\n', 'inline.conf');
  assert.equal(set.aliases.constructor, 'x.io/c');
});

async function tarMember(path: string, name: string): Promise<string | undefined> {
  const ex = extract();
  let found: string | undefined;
  ex.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      if (header.name === name) found = Buffer.concat(chunks).toString('utf8');
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(readFileSync(path));
  await done;
  return found;
}

test('a docker-archive image named constructor is written as that name and leaves Object alone', async () => {
  await withTempDir(async (dir) => {
    const layout = join(dir, 'layout');
    await makeImage(layout, { layers: 1, layerSize: 1024 });
    for (const [name, tag] of [
      ['constructor', 'latest'],
      ['toString', 'constructor'],
      ['valueof', '__proto__'],
    ] as const) {
      const archive = join(dir, `${tag}.tar`);
      const ref = `docker-archive:${archive}:${name.toLowerCase()}:${tag}`;
      await copyImage(parseImageReference(`oci:${layout}:latest`), parseImageReference(ref));
      assert.equal(Object.hasOwn(Object, tag), false, `Object.${tag} was set`);
      const repositories = JSON.parse((await tarMember(archive, 'repositories')) ?? '{}') as Record<
        string,
        Record<string, string>
      >;
      assert.ok(
        Object.hasOwn(repositories, name.toLowerCase()),
        `${ref}: repositories lacks the image: ${JSON.stringify(repositories)}`,
      );
      assert.equal(typeof repositories[name.toLowerCase()]?.[tag], 'string', `${ref}: repositories lacks the tag`);
      await rm(archive);
    }
  });
});
