/**
 * The reference table: inputs to parseDockerReference with the expected normalised parts, or the
 * expected error. Behaviour follows Docker's ParseNormalizedNamed (distribution/reference as
 * vendored by containers/image); the cases are Ferry's own.
 */

export interface ValidCase {
  input: string;
  /** Full normalised repository name. */
  name: string;
  tag?: string;
  digest?: string;
  /** FamiliarString form. */
  familiar: string;
  /** False when the familiar form does not parse back (a 64-hex familiar name, as in Docker). */
  familiarReparses?: boolean;
}

export interface InvalidCase {
  input: string;
  /** A substring the error message must contain (the rule that was broken). */
  error: string;
}

export const SHA256 = 'sha256:e9087d0b20d80d3e12bc8530d883d7ad9c1eb3ebc5cb61824a2b460816503797';
export const SHA384 =
  'sha384:00c0b52a4a94621c11a6502643c7e4cca1cb35cf6ca7d77759f28658baa0b85c1604a8e880d7e3571ae1acf2e4a3a92e';
export const SHA512 =
  'sha512:84ea1980819a603b611e9ccc6d38e8c753f7fb60e84f3687a75d128ab8dc92b3a910684c7371bc36fbde915095e2a7ae3a80bccf22d7e12b4fd78db0b0764f3f';
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';
const HEX63 = HEX64.slice(0, 63);
const SONG = 'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev';
const TAG128 = `t${'x'.repeat(127)}`;
const TAG129 = `t${'x'.repeat(128)}`;
/** `example.com/` + 243 characters: a 255-character name, the maximum. */
const PATH243 = 'p'.repeat(243);
const PATH244 = 'p'.repeat(244);
/** `docker.io/library/` + 237 characters: a 255-character name. */
const SHORT237 = 's'.repeat(237);
const SHORT238 = 's'.repeat(238);
const LONG_NAMESPACE =
  'this_is_not_a_valid_namespace_because_its_length_is_greater_than_255_this_is_not_a_valid_namespace_because_its_length_is_greater_than_255_this_is_not_a_valid_namespace_because_its_length_is_greater_than_255_this_is_not_a_valid_namespace_because_its_length_is_greater_than_255/docker';

const LOWERCASE = 'repository name must be lowercase';
const FORMAT = 'invalid reference format';
const EMPTY = 'repository name must have at least one component';
const TOO_LONG = 'repository name must not be more than 255 characters';
const HEX_NAME = 'cannot specify 64-byte hexadecimal strings';

export const validCases: ValidCase[] = [
  // Docker Hub short names and their normalisation
  { input: 'fedora', name: 'docker.io/library/fedora', familiar: 'fedora' },
  { input: 'fedora:31', name: 'docker.io/library/fedora', tag: '31', familiar: 'fedora:31' },
  { input: 'fedora:latest', name: 'docker.io/library/fedora', tag: 'latest', familiar: 'fedora:latest' },
  { input: 'library/fedora', name: 'docker.io/library/fedora', familiar: 'fedora' },
  { input: 'library/fedora:31', name: 'docker.io/library/fedora', tag: '31', familiar: 'fedora:31' },
  { input: 'docker.io/fedora', name: 'docker.io/library/fedora', familiar: 'fedora' },
  { input: 'docker.io/fedora:31', name: 'docker.io/library/fedora', tag: '31', familiar: 'fedora:31' },
  { input: 'docker.io/library/fedora', name: 'docker.io/library/fedora', familiar: 'fedora' },
  {
    input: 'docker.io/library/fedora:rawhide',
    name: 'docker.io/library/fedora',
    tag: 'rawhide',
    familiar: 'fedora:rawhide',
  },
  { input: 'index.docker.io/library/x', name: 'docker.io/library/x', familiar: 'x' },
  { input: 'index.docker.io/fedora', name: 'docker.io/library/fedora', familiar: 'fedora' },
  { input: 'index.docker.io/user/app:v1', name: 'docker.io/user/app', tag: 'v1', familiar: 'user/app:v1' },
  { input: 'index.docker.io/docker/docker', name: 'docker.io/docker/docker', familiar: 'docker/docker' },
  { input: 'docker/docker', name: 'docker.io/docker/docker', familiar: 'docker/docker' },
  { input: 'docker.io/docker/docker', name: 'docker.io/docker/docker', familiar: 'docker/docker' },
  { input: 'user/app', name: 'docker.io/user/app', familiar: 'user/app' },
  { input: 'other/library', name: 'docker.io/other/library', familiar: 'other/library' },
  { input: 'nonlibrary/ubuntu', name: 'docker.io/nonlibrary/ubuntu', familiar: 'nonlibrary/ubuntu' },
  { input: 'ubuntu-12.04-base', name: 'docker.io/library/ubuntu-12.04-base', familiar: 'ubuntu-12.04-base' },
  { input: 'library/foo/bar', name: 'docker.io/library/foo/bar', familiar: 'library/foo/bar' },
  { input: 'docker.io/library/foo/bar', name: 'docker.io/library/foo/bar', familiar: 'library/foo/bar' },
  { input: 'store/foo/bar', name: 'docker.io/store/foo/bar', familiar: 'store/foo/bar' },
  { input: 'a/b/c/d', name: 'docker.io/a/b/c/d', familiar: 'a/b/c/d' },
  { input: 'a/b/c/d:e', name: 'docker.io/a/b/c/d', tag: 'e', familiar: 'a/b/c/d:e' },
  // Digests, alone and with a tag
  { input: `fedora@${SHA256}`, name: 'docker.io/library/fedora', digest: SHA256, familiar: `fedora@${SHA256}` },
  { input: `user/app@${SHA256}`, name: 'docker.io/user/app', digest: SHA256, familiar: `user/app@${SHA256}` },
  {
    input: `docker.io/library/fedora@${SHA256}`,
    name: 'docker.io/library/fedora',
    digest: SHA256,
    familiar: `fedora@${SHA256}`,
  },
  {
    input: `busybox:latest@${SHA256}`,
    name: 'docker.io/library/busybox',
    tag: 'latest',
    digest: SHA256,
    familiar: `busybox:latest@${SHA256}`,
  },
  {
    input: `docker.io/library/busybox:1.36@${SHA256}`,
    name: 'docker.io/library/busybox',
    tag: '1.36',
    digest: SHA256,
    familiar: `busybox:1.36@${SHA256}`,
  },
  { input: `app@${SHA384}`, name: 'docker.io/library/app', digest: SHA384, familiar: `app@${SHA384}` },
  { input: `app@${SHA512}`, name: 'docker.io/library/app', digest: SHA512, familiar: `app@${SHA512}` },
  {
    input: `quay.io/org/app:v2@${SHA384}`,
    name: 'quay.io/org/app',
    tag: 'v2',
    digest: SHA384,
    familiar: `quay.io/org/app:v2@${SHA384}`,
  },
  {
    input: `localhost:5000/a:1.0@${SHA512}`,
    name: 'localhost:5000/a',
    tag: '1.0',
    digest: SHA512,
    familiar: `localhost:5000/a:1.0@${SHA512}`,
  },
  {
    input: `localhost:5000/ns/app@${SHA256}`,
    name: 'localhost:5000/ns/app',
    digest: SHA256,
    familiar: `localhost:5000/ns/app@${SHA256}`,
  },
  // Other registries: domains, ports, localhost, IP addresses
  { input: 'quay.io/org/app:1.2', name: 'quay.io/org/app', tag: '1.2', familiar: 'quay.io/org/app:1.2' },
  { input: 'quay.io/app', name: 'quay.io/app', familiar: 'quay.io/app' },
  { input: 'quay.io/a/b/c/d/e:t', name: 'quay.io/a/b/c/d/e', tag: 't', familiar: 'quay.io/a/b/c/d/e:t' },
  {
    input: 'registry.fedoraproject.org/fedora',
    name: 'registry.fedoraproject.org/fedora',
    familiar: 'registry.fedoraproject.org/fedora',
  },
  { input: 'ghcr.io/library/app', name: 'ghcr.io/library/app', familiar: 'ghcr.io/library/app' },
  {
    input: 'example.com/private/moonbase',
    name: 'example.com/private/moonbase',
    familiar: 'example.com/private/moonbase',
  },
  { input: 'example.com/privatebase', name: 'example.com/privatebase', familiar: 'example.com/privatebase' },
  {
    input: 'example.com:8000/private/moonbase',
    name: 'example.com:8000/private/moonbase',
    familiar: 'example.com:8000/private/moonbase',
  },
  {
    input: 'example.com:8000/privatebasee',
    name: 'example.com:8000/privatebasee',
    familiar: 'example.com:8000/privatebasee',
  },
  { input: 'example.com:65535/a:b', name: 'example.com:65535/a', tag: 'b', familiar: 'example.com:65535/a:b' },
  { input: 'sub.domain.example.com/a', name: 'sub.domain.example.com/a', familiar: 'sub.domain.example.com/a' },
  {
    input: 'my-registry.local:5000/team/app',
    name: 'my-registry.local:5000/team/app',
    familiar: 'my-registry.local:5000/team/app',
  },
  { input: 'xn--n3h.com/foo', name: 'xn--n3h.com/foo', familiar: 'xn--n3h.com/foo' },
  { input: 'xn--n3h.com:18080/foo', name: 'xn--n3h.com:18080/foo', familiar: 'xn--n3h.com:18080/foo' },
  { input: 'test.com/foo', name: 'test.com/foo', familiar: 'test.com/foo' },
  { input: 'test-com:8080/foo', name: 'test-com:8080/foo', familiar: 'test-com:8080/foo' },
  { input: 'test_com/foo', name: 'docker.io/test_com/foo', familiar: 'test_com/foo' },
  { input: 'Example.COM/app', name: 'Example.COM/app', familiar: 'Example.COM/app' },
  { input: 'docker.io.example.com/app', name: 'docker.io.example.com/app', familiar: 'docker.io.example.com/app' },
  { input: 'dock.er/docker', name: 'dock.er/docker', familiar: 'dock.er/docker' },
  { input: 'localhost/app', name: 'localhost/app', familiar: 'localhost/app' },
  { input: 'localhost/app:dev', name: 'localhost/app', tag: 'dev', familiar: 'localhost/app:dev' },
  { input: 'localhost/library/debian', name: 'localhost/library/debian', familiar: 'localhost/library/debian' },
  { input: 'localhost:5000/app', name: 'localhost:5000/app', familiar: 'localhost:5000/app' },
  { input: 'localhost:5000/app:1', name: 'localhost:5000/app', tag: '1', familiar: 'localhost:5000/app:1' },
  { input: 'localhost', name: 'docker.io/library/localhost', familiar: 'localhost' },
  { input: 'localhost:5000', name: 'docker.io/library/localhost', tag: '5000', familiar: 'localhost:5000' },
  { input: 'localhostx/app', name: 'docker.io/localhostx/app', familiar: 'localhostx/app' },
  { input: 'quay.io', name: 'docker.io/library/quay.io', familiar: 'quay.io' },
  { input: 'quay.io:443', name: 'docker.io/library/quay.io', tag: '443', familiar: 'quay.io:443' },
  {
    input: '127.0.0.1:5000/docker/docker',
    name: '127.0.0.1:5000/docker/docker',
    familiar: '127.0.0.1:5000/docker/docker',
  },
  {
    input: '127.0.0.1:5000/library/debian',
    name: '127.0.0.1:5000/library/debian',
    familiar: '127.0.0.1:5000/library/debian',
  },
  { input: '127.0.0.1:5000/debian', name: '127.0.0.1:5000/debian', familiar: '127.0.0.1:5000/debian' },
  { input: '127.0.0.1/app:x', name: '127.0.0.1/app', tag: 'x', familiar: '127.0.0.1/app:x' },
  { input: '192.168.0.1', name: 'docker.io/library/192.168.0.1', familiar: '192.168.0.1' },
  { input: '192.168.0.1:80', name: 'docker.io/library/192.168.0.1', tag: '80', familiar: '192.168.0.1:80' },
  { input: '192.168.0.1:8/debian', name: '192.168.0.1:8/debian', familiar: '192.168.0.1:8/debian' },
  { input: '192.168.0.2:25000/debian', name: '192.168.0.2:25000/debian', familiar: '192.168.0.2:25000/debian' },
  { input: '[fc00::1]:5000/docker', name: '[fc00::1]:5000/docker', familiar: '[fc00::1]:5000/docker' },
  {
    input: '[fc00::1]:5000/docker/docker',
    name: '[fc00::1]:5000/docker/docker',
    familiar: '[fc00::1]:5000/docker/docker',
  },
  {
    input: '[fc00:1:2:3:4:5:6:7]:5000/library/debian',
    name: '[fc00:1:2:3:4:5:6:7]:5000/library/debian',
    familiar: '[fc00:1:2:3:4:5:6:7]:5000/library/debian',
  },
  { input: '[::1]/app:v', name: '[::1]/app', tag: 'v', familiar: '[::1]/app:v' },
  // Path component separators: `.`, `_`, `__`, any run of `-`
  { input: 'a', name: 'docker.io/library/a', familiar: 'a' },
  { input: '0', name: 'docker.io/library/0', familiar: '0' },
  { input: 'a.b', name: 'docker.io/library/a.b', familiar: 'a.b' },
  { input: 'a_b', name: 'docker.io/library/a_b', familiar: 'a_b' },
  { input: 'a__b', name: 'docker.io/library/a__b', familiar: 'a__b' },
  { input: 'a-b', name: 'docker.io/library/a-b', familiar: 'a-b' },
  { input: 'a---b', name: 'docker.io/library/a---b', familiar: 'a---b' },
  { input: 'a.b_c__d-e--f', name: 'docker.io/library/a.b_c__d-e--f', familiar: 'a.b_c__d-e--f' },
  { input: 'docker-rules/docker', name: 'docker.io/docker-rules/docker', familiar: 'docker-rules/docker' },
  { input: 'docker---rules/docker', name: 'docker.io/docker---rules/docker', familiar: 'docker---rules/docker' },
  { input: 'dock__er/docker', name: 'docker.io/dock__er/docker', familiar: 'dock__er/docker' },
  { input: 'dock_er/docker', name: 'docker.io/dock_er/docker', familiar: 'dock_er/docker' },
  { input: 'doc/docker', name: 'docker.io/doc/docker', familiar: 'doc/docker' },
  { input: 'd/docker', name: 'docker.io/d/docker', familiar: 'd/docker' },
  { input: 'jess/t', name: 'docker.io/jess/t', familiar: 'jess/t' },
  { input: 'quay.io/a.b/c__d/e-f', name: 'quay.io/a.b/c__d/e-f', familiar: 'quay.io/a.b/c__d/e-f' },
  // Hexadecimal names: only a bare 64-hex string is refused
  { input: SONG, name: `docker.io/library/${SONG}`, familiar: SONG },
  { input: HEX63, name: `docker.io/library/${HEX63}`, familiar: HEX63 },
  { input: 'dbcc1', name: 'docker.io/library/dbcc1', familiar: 'dbcc1' },
  { input: `${HEX64}:tag`, name: `docker.io/library/${HEX64}`, tag: 'tag', familiar: `${HEX64}:tag` },
  { input: `docker.io/${HEX64}`, name: `docker.io/library/${HEX64}`, familiar: HEX64, familiarReparses: false },
  { input: `library/${HEX64}`, name: `docker.io/library/${HEX64}`, familiar: HEX64, familiarReparses: false },
  { input: `quay.io/${HEX64}`, name: `quay.io/${HEX64}`, familiar: `quay.io/${HEX64}` },
  // Tags: [\w][\w.-]{0,127}
  { input: 'app:V1', name: 'docker.io/library/app', tag: 'V1', familiar: 'app:V1' },
  { input: 'app:_under', name: 'docker.io/library/app', tag: '_under', familiar: 'app:_under' },
  { input: 'app:a-b.c_d', name: 'docker.io/library/app', tag: 'a-b.c_d', familiar: 'app:a-b.c_d' },
  { input: 'app:1.0.0-rc.1', name: 'docker.io/library/app', tag: '1.0.0-rc.1', familiar: 'app:1.0.0-rc.1' },
  { input: 'app:x..--__', name: 'docker.io/library/app', tag: 'x..--__', familiar: 'app:x..--__' },
  { input: 'app:0', name: 'docker.io/library/app', tag: '0', familiar: 'app:0' },
  { input: `app:${TAG128}`, name: 'docker.io/library/app', tag: TAG128, familiar: `app:${TAG128}` },
  {
    input: `quay.io/a:${TAG128}@${SHA256}`,
    name: 'quay.io/a',
    tag: TAG128,
    digest: SHA256,
    familiar: `quay.io/a:${TAG128}@${SHA256}`,
  },
  // Length: the full normalised name may be 255 characters, no more
  { input: `example.com/${PATH243}`, name: `example.com/${PATH243}`, familiar: `example.com/${PATH243}` },
  {
    input: `example.com/${PATH243}:${TAG128}`,
    name: `example.com/${PATH243}`,
    tag: TAG128,
    familiar: `example.com/${PATH243}:${TAG128}`,
  },
  { input: SHORT237, name: `docker.io/library/${SHORT237}`, familiar: SHORT237 },
  { input: `docker.io/library/${SHORT237}`, name: `docker.io/library/${SHORT237}`, familiar: SHORT237 },
];

export const invalidCases: InvalidCase[] = [
  // Empty or nameless
  { input: '', error: EMPTY },
  { input: ':tag', error: EMPTY },
  { input: ':', error: EMPTY },
  { input: `@${SHA256}`, error: EMPTY },
  { input: `:tag@${SHA256}`, error: EMPTY },
  // Uppercase in the repository path
  { input: 'Fedora', error: LOWERCASE },
  { input: 'FEDORA:31', error: LOWERCASE },
  { input: 'docker/Docker', error: LOWERCASE },
  { input: 'Docker/docker', error: LOWERCASE },
  { input: 'DOCKER/docker', error: LOWERCASE },
  { input: 'LOCALDOMAIN/debian', error: LOWERCASE },
  { input: 'LOCALHOST/app', error: LOWERCASE },
  { input: 'docker.io/docker/Docker', error: LOWERCASE },
  { input: 'quay.io/Org/app', error: LOWERCASE },
  { input: 'localhost:5000/App', error: LOWERCASE },
  { input: `Fedora@${SHA256}`, error: LOWERCASE },
  { input: '-Docker', error: LOWERCASE },
  { input: 'ÜBER', error: LOWERCASE },
  // Bare image IDs
  { input: HEX64, error: HEX_NAME },
  { input: 'dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c', error: HEX_NAME },
  // Malformed path components
  { input: '-docker', error: FORMAT },
  { input: '-docker/docker', error: FORMAT },
  { input: 'docker-/docker', error: FORMAT },
  { input: '-docker-/docker', error: FORMAT },
  { input: '____/____', error: FORMAT },
  { input: '_docker/_docker', error: FORMAT },
  { input: 'a___b', error: FORMAT },
  { input: 'a..b', error: FORMAT },
  { input: 'a.-b', error: FORMAT },
  { input: 'a_-b', error: FORMAT },
  { input: 'a_', error: FORMAT },
  { input: 'a-', error: FORMAT },
  { input: '.a', error: FORMAT },
  { input: 'a b', error: FORMAT },
  { input: ' fedora', error: FORMAT },
  { input: 'fedora ', error: FORMAT },
  { input: 'ünicode', error: FORMAT },
  { input: '$$$', error: FORMAT },
  { input: '::', error: FORMAT },
  { input: 'user/app+x', error: FORMAT },
  { input: 'a/b/c/-d', error: FORMAT },
  // Empty components: leading, trailing and doubled slashes
  { input: 'docker///docker', error: FORMAT },
  { input: 'docker.io/docker///docker', error: FORMAT },
  { input: 'docker/', error: FORMAT },
  { input: 'fedora/', error: FORMAT },
  { input: 'fedora/:31', error: FORMAT },
  { input: '/fedora', error: FORMAT },
  { input: 'quay.io/', error: FORMAT },
  { input: 'quay.io/org/', error: FORMAT },
  { input: 'docker.io/', error: FORMAT },
  { input: 'localhost:5000/', error: FORMAT },
  { input: 'a//b', error: FORMAT },
  // Malformed domains and ports
  { input: '-docker.io/docker/docker', error: FORMAT },
  { input: 'https://github.com/docker/docker', error: FORMAT },
  { input: 'docker://quay.io/foo', error: FORMAT },
  { input: 'dock..er/docker', error: FORMAT },
  { input: 'dock_.er/docker', error: FORMAT },
  { input: 'dock-.er/docker', error: FORMAT },
  { input: '.example.com/app', error: FORMAT },
  { input: 'example-.com/app', error: FORMAT },
  { input: 'exa_mple.com/app', error: FORMAT },
  { input: 'example.com:/app', error: FORMAT },
  { input: 'example.com:abc/app', error: FORMAT },
  { input: 'example.com:80:80/app', error: FORMAT },
  { input: 'localhost:/app', error: FORMAT },
  { input: '[fc00::1]', error: FORMAT },
  { input: '[fc00::1]:5000', error: FORMAT },
  { input: 'fc00::1:5000/debian', error: FORMAT },
  { input: '[fe80::1%eth0]:5000/debian', error: FORMAT },
  { input: '[2001:db8:3:4::192.0.2.33]:5000/debian', error: FORMAT },
  { input: '[]:5000/app', error: FORMAT },
  // Tags
  { input: 'fedora:', error: FORMAT },
  { input: 'app:-foo', error: FORMAT },
  { input: 'app:.foo', error: FORMAT },
  { input: 'app:a+b', error: FORMAT },
  { input: 'app:tag:more', error: FORMAT },
  { input: 'app:a/b', error: FORMAT },
  { input: 'app:tag ', error: FORMAT },
  { input: `app:${TAG129}`, error: FORMAT },
  { input: `quay.io/a:${TAG129}@${SHA256}`, error: FORMAT },
  // Digests
  { input: 'fedora@', error: FORMAT },
  { input: 'fedora:31@', error: FORMAT },
  { input: 'app@sha256:abc', error: 'sha256 needs 64 hex characters, got 3' },
  { input: `app@sha256:${HEX63}`, error: 'sha256 needs 64 hex characters, got 63' },
  { input: `app@sha256:${HEX64}0`, error: 'sha256 needs 64 hex characters, got 65' },
  { input: `app@sha256:${HEX64.toUpperCase()}`, error: 'lowercase hex' },
  { input: `app@sha384:${HEX64}`, error: 'sha384 needs 96 hex characters, got 64' },
  { input: `app@sha512:${HEX64}`, error: 'sha512 needs 128 hex characters, got 64' },
  { input: `app@sha512:${SHA384.slice(7)}`, error: 'sha512 needs 128 hex characters, got 96' },
  { input: `app@md5:${'0'.repeat(32)}`, error: 'not supported' },
  { input: `app@SHA256:${HEX64}`, error: 'malformed algorithm' },
  { input: `app@${HEX64}`, error: 'algorithm:hex' },
  { input: `app@${SHA256}@${SHA256}`, error: FORMAT },
  { input: `app@${SHA256}:31`, error: FORMAT },
  { input: `app@sha256:${'g'.repeat(64)}`, error: 'lowercase hex' },
  // Length of the full normalised name
  { input: `example.com/${PATH244}`, error: TOO_LONG },
  { input: SHORT238, error: TOO_LONG },
  { input: `docker.io/library/${SHORT238}`, error: TOO_LONG },
  { input: 'a'.repeat(256), error: TOO_LONG },
  { input: LONG_NAMESPACE, error: TOO_LONG },
];
