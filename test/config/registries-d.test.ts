import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  loadRegistriesD,
  lookasideBaseURL,
  lookasideFilePath,
  lookasideSignatureURL,
  parseRegistriesD,
  type RegistriesD,
  registriesDDir,
  useSigstoreAttachments,
} from '../../src/config/registries-d.js';
import type { Digest } from '../../src/digest/digest.js';
import { isFerryError } from '../../src/errors.js';
import { parseDockerReference } from '../../src/reference/reference.js';
import { fixturePath } from '../helpers/paths.js';
import { withTempDir } from '../helpers/tmp.js';

const FIXTURES = fixturePath('config', 'registries.d');
const ref = (s: string) => parseDockerReference(s);
const DIGEST = `sha256:${'ab'.repeat(32)}` as Digest;

async function dirWith(root: string, name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  for (const [f, text] of Object.entries(files)) await writeFile(join(dir, f), text);
  return dir;
}

describe('registries.d: loading the upstream fixtures', () => {
  test('merges every .yaml file (an empty {} file too) and skips other names', async () => {
    const config = await loadRegistriesD({ dir: FIXTURES });
    assert.deepEqual(config.defaultDocker, { lookaside: 'file:///mnt/companywide/signatures/for/other/repositories' });
    assert.deepEqual(Object.fromEntries(config.docker), {
      'example.com': { lookaside: 'https://lookaside.example.com' },
      'registry.test.example.com': { lookaside: 'http://registry.test.example.com/lookaside' },
      'registry.test.example.com:8888': {
        lookaside: 'http://registry.test.example.com:8889/lookaside',
        lookasideStaging: 'https://registry.test.example.com:8889/lookaside/specialAPIserverWhichDoesNotExist',
      },
      localhost: { lookaside: 'file:///home/mitr/mydevelopment1' },
      'localhost:8080': { lookaside: 'file:///home/mitr/mydevelopment2' },
      'localhost/invalid/url/test': { lookaside: ':emptyscheme' },
      'localhost/file/path/test': { lookaside: '/no/scheme/just/a/path' },
      'localhost/relative/path/test': { lookaside: 'no/scheme/relative/path' },
      'docker.io/contoso': { lookaside: 'https://lookaside.contoso.com/fordocker' },
      'docker.io/centos': { lookaside: 'https://lookaside.centos.org/' },
      'docker.io/centos/mybetaproduct': {
        lookaside: 'http://localhost:9999/mybetaWIP/lookaside',
        lookasideStaging: 'file:///srv/mybetaWIP/lookaside',
      },
      'docker.io/centos/mybetaproduct:latest': { lookaside: 'https://lookaside.centos.org/' },
    });
    assert.deepEqual(
      config.files.map((f) => f.slice(FIXTURES.length + 1)),
      ['emptyConfig.yaml', 'internal-example.com.yaml', 'internet-user.yaml'],
    );
  });

  test('a missing directory is an empty configuration', async () => {
    await withTempDir(async (root) => {
      const config = await loadRegistriesD({ dir: join(root, 'absent') });
      assert.equal(config.defaultDocker, undefined);
      assert.equal(config.docker.size, 0);
    });
  });

  test('a path that is not a directory is refused', async () => {
    await assert.rejects(loadRegistriesD({ dir: '/dev/null' }), (e) => isFerryError(e, 'INVALID_CONFIG'));
  });

  test('default-docker in two files is an error naming both files', async () => {
    await withTempDir(async (root) => {
      const dir = await dirWith(root, 'd', {
        '0.yaml': 'default-docker:\n lookaside: file:////tmp/something',
        '1.yaml': 'default-docker:\n lookaside: file:////tmp/different',
      });
      await assert.rejects(loadRegistriesD({ dir }), (e) => {
        assert.ok(isFerryError(e, 'INVALID_CONFIG'));
        assert.match(e.message, /0\.yaml/);
        assert.match(e.message, /1\.yaml/);
        return true;
      });
    });
  });

  test('the same docker scope in two files is an error naming both files and the scope', async () => {
    await withTempDir(async (root) => {
      const dir = await dirWith(root, 'd', {
        '0.yaml': 'docker:\n example.com:\n  lookaside: file:////tmp/something',
        '1.yaml': 'docker:\n example.com:\n  lookaside: file:////tmp/different',
      });
      await assert.rejects(loadRegistriesD({ dir }), (e) => {
        assert.ok(isFerryError(e, 'INVALID_CONFIG'));
        assert.match(e.message, /0\.yaml.*example\.com|example\.com.*0\.yaml/);
        assert.match(e.message, /1\.yaml/);
        return true;
      });
    });
  });
});

describe('registries.d: which directory', () => {
  test('the user directory wins when it exists, else the system one', async () => {
    await withTempDir(async (home) => {
      assert.equal(await registriesDDir({ env: { HOME: home }, root: '/r' }), '/r/etc/containers/registries.d');
      await mkdir(join(home, '.config/containers/registries.d'), { recursive: true });
      assert.equal(await registriesDDir({ env: { HOME: home } }), join(home, '.config/containers/registries.d'));
      assert.equal(await registriesDDir({ env: { HOME: home }, dir: '/given' }), '/given');
    });
  });
});

describe('registries.d: the lookaside URL of an image', () => {
  const config: RegistriesD = {
    defaultDocker: { lookaside: 'https://default.example/l', lookasideStaging: 'file:///default-w' },
    docker: new Map(),
    files: [],
  };
  for (const ns of [
    'localhost',
    'localhost:5000',
    'example.com',
    'example.com/ns1',
    'example.com/ns1/ns2',
    'example.com/ns1/ns2/repo',
    'example.com/ns1/ns2/repo:notlatest',
  ]) {
    config.docker.set(ns, { lookaside: `https://read.example/${ns}`, lookasideStaging: `file:///write/${ns}` });
  }

  for (const [input, scope] of [
    ['example.com/ns1/ns2/repo:notlatest', 'example.com/ns1/ns2/repo:notlatest'],
    ['example.com/ns1/ns2/repo:unmatched', 'example.com/ns1/ns2/repo'],
    ['example.com/ns1/ns2/notrepo:notlatest', 'example.com/ns1/ns2'],
    ['example.com/ns1/notns2/repo:notlatest', 'example.com/ns1'],
    ['example.com/notns1/ns2/repo:notlatest', 'example.com'],
    ['localhost:5000/busybox', 'localhost:5000'],
    ['localhost/busybox', 'localhost'],
  ] as const) {
    test(`${input} uses the most specific scope ${scope}, for reading and for writing`, () => {
      const r = ref(input);
      assert.equal(lookasideBaseURL(config, r), new URL(`https://read.example/${scope}/${r.path}`).toString());
      assert.equal(
        lookasideBaseURL(config, r, { write: true }),
        new URL(`file:///write/${scope}/${r.path}`).toString(),
      );
    });
  }

  test('an unmatched image uses default-docker', () => {
    assert.equal(lookasideBaseURL(config, ref('unknown.example.com/busybox')), 'https://default.example/l/busybox');
  });

  test('`*.domain` scopes match sub-domains after every repository scope, most specific first', () => {
    const c: RegistriesD = {
      docker: new Map([
        ['*.example.com', { lookaside: 'https://wild.example' }],
        ['*.com', { lookaside: 'https://com.example' }],
      ]),
      files: [],
    };
    assert.equal(lookasideBaseURL(c, ref('registry.example.com/app:1')), 'https://wild.example/app');
    assert.equal(lookasideBaseURL(c, ref('registry.example.org.com/app:1')), 'https://com.example/app');
    assert.equal(
      lookasideBaseURL(c, ref('[2001:db8::1]:5000/app:1'), { uid: 0 }),
      'file:///var/lib/containers/sigstore/app',
    );
    c.docker.set('registry.example.com', { lookaside: 'https://host.example' });
    assert.equal(lookasideBaseURL(c, ref('registry.example.com/app:1')), 'https://host.example/app');
  });

  test('a section without a URL falls through to a less specific one (as upstream)', () => {
    const c: RegistriesD = {
      docker: new Map([
        ['example.com/ns', { useSigstoreAttachments: true }],
        ['example.com', { lookaside: 'https://l.example' }],
      ]),
      files: [],
    };
    assert.equal(lookasideBaseURL(c, ref('example.com/ns/app:1')), 'https://l.example/ns/app');
  });

  test('nothing configured: the built-in directory of the user, or of root', () => {
    const empty: RegistriesD = { docker: new Map(), files: [] };
    assert.equal(
      lookasideBaseURL(empty, ref('this/is/not/in/the:configuration'), { uid: 1000, env: { HOME: '/home/u' } }),
      'file:///home/u/.local/share/containers/sigstore/this/is/not/in/the',
    );
    assert.equal(
      lookasideBaseURL(empty, ref('busybox'), { uid: 0 }),
      'file:///var/lib/containers/sigstore/library/busybox',
    );
  });

  test("inside the CLI's rootless user namespace (uid 0 there) the default is the real user's directory", () => {
    const empty: RegistriesD = { docker: new Map(), files: [] };
    const env = { HOME: '/home/u', _CONTAINERS_USERNS_CONFIGURED: 'done', _CONTAINERS_ROOTLESS_UID: '1000' };
    assert.equal(
      lookasideBaseURL(empty, ref('busybox'), { env }),
      'file:///home/u/.local/share/containers/sigstore/library/busybox',
    );
  });

  test('the upstream fixture examples: a host match, an empty URL path, sigstore attachments off', async () => {
    const c = await loadRegistriesD({ dir: FIXTURES });
    assert.equal(lookasideBaseURL(c, ref('example.com/my/project')), 'https://lookaside.example.com/my/project');
    assert.equal(
      lookasideBaseURL(c, ref('docker.io/centos/mybetaproduct:1'), { write: true }),
      'file:///srv/mybetaWIP/lookaside/centos/mybetaproduct',
    );
    assert.equal(useSigstoreAttachments(c, ref('example.com/my/project')), false);
  });

  for (const name of ['localhost/invalid/url/test', 'localhost/file/path/test', 'localhost/relative/path/test']) {
    test(`a lookaside that is not a file/http/https URL is refused (${name})`, async () => {
      const c = await loadRegistriesD({ dir: FIXTURES });
      assert.throws(
        () => lookasideBaseURL(c, ref(name)),
        (e) => isFerryError(e, 'INVALID_CONFIG'),
      );
    });
  }

  test('the old key names sigstore and sigstore-staging are read', () => {
    const c = {
      ...parseRegistriesD(
        'docker:\n  q.example:\n    sigstore: https://s\n    sigstore-staging: file:///w\n',
        'x.yaml',
      ),
      files: [],
    };
    assert.equal(lookasideBaseURL(c, ref('q.example/a')), 'https://s/a');
    assert.equal(lookasideBaseURL(c, ref('q.example/a'), { write: true }), 'file:///w/a');
  });
});

describe('registries.d: use-sigstore-attachments', () => {
  test('the most specific scope that sets it decides; default-docker last; off by default', () => {
    const c = {
      ...parseRegistriesD(
        [
          'default-docker:',
          '  use-sigstore-attachments: true',
          'docker:',
          '  quay.io/org:',
          '    use-sigstore-attachments: false',
          '  quay.io:',
          '    lookaside: https://x',
          '',
        ].join('\n'),
        'a.yaml',
      ),
      files: [],
    };
    assert.equal(useSigstoreAttachments(c, ref('quay.io/org/app:1')), false);
    assert.equal(useSigstoreAttachments(c, ref('quay.io/other/app:1')), true);
    assert.equal(useSigstoreAttachments({ docker: new Map(), files: [] }, ref('quay.io/other/app:1')), false);
  });
});

describe('registries.d: signature URLs', () => {
  test('signature N of a manifest is <base>@sha256=<hex>/signature-N, counted from 1', () => {
    assert.equal(
      lookasideSignatureURL('https://l.example/ns/app', DIGEST, 0),
      `https://l.example/ns/app@sha256=${'ab'.repeat(32)}/signature-1`,
    );
    assert.equal(
      lookasideSignatureURL('file:///srv/sigs/app', DIGEST, 2),
      `file:///srv/sigs/app@sha256=${'ab'.repeat(32)}/signature-3`,
    );
  });

  test('a malformed digest or index is refused before it becomes a path', () => {
    assert.throws(
      () => lookasideSignatureURL('file:///s/a', 'sha256:../../etc' as Digest, 0),
      (e) => isFerryError(e, 'INVALID_DIGEST'),
    );
    assert.throws(
      () => lookasideSignatureURL('file:///s/a', DIGEST, -1),
      (e) => isFerryError(e, 'INVALID_ARGUMENT'),
    );
  });

  test('a file: URL is written at its path; an http URL cannot be written', () => {
    assert.equal(
      lookasideFilePath('file:///srv/sigs/app@sha256=ab/signature-1'),
      '/srv/sigs/app@sha256=ab/signature-1',
    );
    assert.throws(
      () => lookasideFilePath('https://l.example/a/signature-1'),
      (e) => isFerryError(e, 'UNSUPPORTED_OPERATION'),
    );
  });
});

describe('registries.d: the YAML subset', () => {
  test('comments, quotes, blank lines and CRLF are read', () => {
    const f = parseRegistriesD(
      [
        '# a comment',
        'docker:  # trailing comment',
        '',
        '  "quoted.example":\r',
        "    lookaside: 'https://a.example/it''s'",
        '    lookaside-staging: "file:///w/x\\u0041 # not a comment"',
        '  plain.example:',
        '    lookaside: https://p.example/#frag',
        '    use-sigstore-attachments: yes',
      ].join('\n'),
      'c.yaml',
    );
    assert.deepEqual(f.docker.get('quoted.example'), {
      lookaside: "https://a.example/it's",
      lookasideStaging: 'file:///w/xA # not a comment',
    });
    assert.deepEqual(f.docker.get('plain.example'), {
      lookaside: 'https://p.example/#frag',
      useSigstoreAttachments: true,
    });
  });

  test('empty files, {} and null sections are empty', () => {
    assert.equal(parseRegistriesD('', 'e.yaml').docker.size, 0);
    assert.equal(parseRegistriesD('# only a comment\n', 'e.yaml').docker.size, 0);
    assert.equal(parseRegistriesD('{}', 'e.yaml').docker.size, 0);
    const f = parseRegistriesD('default-docker:\ndocker:\n  a.example: {}\n  b.example:\n', 'e.yaml');
    assert.equal(f.defaultDocker, undefined);
    assert.deepEqual(Object.fromEntries(f.docker), { 'a.example': {}, 'b.example': {} });
  });

  test('unknown keys are ignored, as containers/image does', () => {
    const f = parseRegistriesD(
      'future-key: 1\ndocker:\n  a.example:\n    other: x\n    lookaside: https://a\n',
      'u.yaml',
    );
    assert.deepEqual(f.docker.get('a.example'), { lookaside: 'https://a' });
  });

  const malformed: [string, string, number][] = [
    ['a lone closing brace (upstream invalid-but.notyaml)', '}', 1],
    ['a sequence', 'docker:\n  - a.example\n', 2],
    ['a flow mapping with content', 'docker: {a: b}\n', 1],
    ['a tab in indentation', 'docker:\n\ta.example:\n', 2],
    ['inconsistent indentation', 'docker:\n    a.example:\n      lookaside: x\n  b.example:\n', 4],
    ['an unclosed quote', 'docker:\n  a.example:\n    lookaside: "https://a\n', 3],
    ['text after a quoted string', "docker:\n  a.example:\n    lookaside: 'x' y\n", 3],
    ['a duplicate key', 'docker:\n  a.example:\n    lookaside: x\n  a.example:\n    lookaside: y\n', 4],
    ['an anchor', 'default-docker: &d\n  lookaside: x\n', 1],
    ['a block scalar', 'default-docker:\n  lookaside: |\n    x\n', 2],
    ['a document marker', '---\ndocker: {}\n', 1],
    ['a line that is not key: value', 'docker:\n  just text\n', 2],
    ['a boolean that is not one', 'default-docker:\n  use-sigstore-attachments: maybe\n', 2],
    ['a quoted boolean', 'default-docker:\n  use-sigstore-attachments: "true"\n', 2],
    ['a section that is a string', 'default-docker: https://x\n', 1],
    ['docker that is a string', 'docker: x\n', 1],
    ['a lookaside that is a mapping', 'default-docker:\n  lookaside:\n    a: b\n', 3],
    ['an unknown escape', 'default-docker:\n  lookaside: "\\q"\n', 2],
    ['a document that does not start at column 1', '  docker: {}\n', 1],
  ];
  for (const [name, text, line] of malformed) {
    test(`refuses ${name}, naming the file and line ${line}`, () => {
      assert.throws(
        () => parseRegistriesD(text, '/etc/containers/registries.d/bad.yaml'),
        (e) => {
          assert.ok(isFerryError(e, 'INVALID_CONFIG'), String(e));
          assert.match(e.message, /bad\.yaml/);
          assert.match(e.message, new RegExp(`line ${line}\\b`));
          return true;
        },
      );
    });
  }
});

describe('registries.d: hostile input never crashes', () => {
  test('every one-byte change of the upstream fixtures parses or is INVALID_CONFIG', async () => {
    const { readFile } = await import('node:fs/promises');
    for (const name of ['internal-example.com.yaml', 'internet-user.yaml']) {
      const text = await readFile(join(FIXTURES, name), 'utf8');
      for (let i = 0; i < text.length; i++) {
        for (const c of [':', '"', "'", '#', ' ', '\t', '-', '{', 'x', '\n']) {
          const mutated = text.slice(0, i) + c + text.slice(i + 1);
          try {
            parseRegistriesD(mutated, name);
          } catch (e) {
            assert.ok(isFerryError(e, 'INVALID_CONFIG'), `offset ${i} → ${JSON.stringify(c)}: ${String(e)}`);
          }
        }
      }
    }
  });
});
