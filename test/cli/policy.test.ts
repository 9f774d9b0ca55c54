/**
 * `ferry copy` always decides a trust policy, as skopeo: `--policy FILE`, else $HOME's, else the
 * system's policy.json; `--insecure-policy` is the only way around it. A refusal writes nothing.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeImage } from '../helpers/make-image.js';
import { startRegistry } from '../helpers/registry.js';
import { runFerry } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

const REJECT_ALL = JSON.stringify({ default: [{ type: 'reject' }] });
const ACCEPT_ALL = JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] });

/** A home directory whose user policy.json holds `policy`. */
async function homeWithPolicy(dir: string, policy: string): Promise<string> {
  const home = path.join(dir, 'home');
  await mkdir(path.join(home, '.config', 'containers'), { recursive: true });
  await writeFile(path.join(home, '.config', 'containers', 'policy.json'), policy);
  return home;
}

describe('ferry copy enforces the trust policy', () => {
  for (const where of ['before', 'after'] as const) {
    it(`a reject policy given ${where} the command name refuses the image in one line, creating no destination`, async () => {
      await withTempDir(async (dir) => {
        const made = await makeImage(path.join(dir, 'src'), { tag: 't' });
        const policy = path.join(dir, 'policy.json');
        await writeFile(policy, REJECT_ALL);
        const images = [`oci:${dir}/src:t`, `dir:${dir}/out/image`];
        const args =
          where === 'before' ? ['--policy', policy, 'copy', ...images] : ['copy', '--policy', policy, ...images];
        const r = await runFerry(args);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, '');
        assert.equal(
          r.stderr,
          `ferry: source image "oci:${dir}/src:t" rejected by the trust policy: manifest ${made.digest} by default: ` +
            'requirement 1 (reject): the policy rejects images in this scope (reject)\n',
        );
        assert.ok(!existsSync(path.join(dir, 'out')), 'not even the parent directory is created');
      });
    });
  }

  it('a missing --policy file is an error naming it, before anything is read or written', async () => {
    await withTempDir(async (dir) => {
      await makeImage(path.join(dir, 'src'), { tag: 't' });
      const r = await runFerry(['--policy', '/nonexistent/policy.json', 'copy', `oci:${dir}/src:t`, `dir:${dir}/out`]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, 'ferry: no policy.json file found at any of the following: "/nonexistent/policy.json"\n');
      assert.ok(!existsSync(path.join(dir, 'out')));
    });
  });

  it('a policy with a typo is refused with the field it names, and nothing is copied', async () => {
    await withTempDir(async (dir) => {
      await makeImage(path.join(dir, 'src'), { tag: 't' });
      const policy = path.join(dir, 'policy.json');
      await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transport: {} }));
      const r = await runFerry(['--policy', policy, 'copy', `oci:${dir}/src:t`, `dir:${dir}/out`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^ferry: .*transport/);
      assert.ok(!existsSync(path.join(dir, 'out')));
    });
  });

  it('--insecure-policy copies without a check, even next to a reject --policy', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(path.join(dir, 'src'), { tag: 't' });
      const policy = path.join(dir, 'policy.json');
      await writeFile(policy, REJECT_ALL);
      const args = ['--insecure-policy', '--policy', policy, 'copy', '-q', `oci:${dir}/src:t`, `dir:${dir}/out`];
      const r = await runFerry(args);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await readFile(path.join(dir, 'out', 'manifest.json')), made.bytes);
    });
  });

  it("without --policy the user's $HOME/.config/containers/policy.json decides (before the system file)", async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(path.join(dir, 'src'), { tag: 't' });
      const images = [`oci:${dir}/src:t`, `dir:${dir}/out`];
      const rejecting = await homeWithPolicy(path.join(dir, 'a'), REJECT_ALL);
      const refused = await runFerry(['copy', '-q', ...images], {
        defaultPolicy: true,
        env: { ...process.env, HOME: rejecting },
      });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /rejected by the trust policy: .* by default: requirement 1 \(reject\)/);
      assert.ok(!existsSync(path.join(dir, 'out')));
      const accepting = await homeWithPolicy(path.join(dir, 'b'), ACCEPT_ALL);
      const copied = await runFerry(['copy', '-q', ...images], {
        defaultPolicy: true,
        env: { ...process.env, HOME: accepting },
      });
      assert.equal(copied.code, 0, copied.stderr);
      assert.deepEqual(await readFile(path.join(dir, 'out', 'manifest.json')), made.bytes);
    });
  });

  it('path scopes: a dir: image is decided by the most specific of its directory and parents, symlinks resolved', async () => {
    await withTempDir(async (dir) => {
      await makeImage(path.join(dir, 'src'), { tag: 't' });
      const store = path.join(dir, 'store');
      const staged = await runFerry(['copy', '-q', `oci:${dir}/src:t`, `dir:${store}/trusted/app`]);
      assert.equal(staged.code, 0, staged.stderr);
      await symlink(path.join(store, 'trusted'), path.join(dir, 'link'));
      const policy = path.join(dir, 'policy.json');
      await writeFile(
        policy,
        JSON.stringify({
          default: [{ type: 'reject' }],
          transports: {
            dir: { [store]: [{ type: 'reject' }], [path.join(store, 'trusted')]: [{ type: 'insecureAcceptAnything' }] },
          },
        }),
      );
      for (const source of [`dir:${store}/trusted/app`, `dir:${dir}/link/app`]) {
        const r = await runFerry(['--policy', policy, '--debug', 'copy', '-q', source, `dir:${dir}/out`]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(
            `accepted by transports\\["dir"\\]\\["${path.join(store, 'trusted')}"\\]: requirement 1 \\(insecureAcceptAnything\\) accepted`,
          ),
        );
      }
      await mkdir(path.join(store, 'other'));
      const moved = await runFerry(['copy', '-q', `dir:${store}/trusted/app`, `dir:${store}/other/app`]);
      assert.equal(moved.code, 0, moved.stderr);
      const refused = await runFerry(['--policy', policy, 'copy', '-q', `dir:${store}/other/app`, `dir:${dir}/out2`]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`by transports\\["dir"\\]\\["${store}"\\]: requirement 1 \\(reject\\)`));
      assert.deepEqual(await readdir(dir), ['link', 'out', 'policy.json', 'src', 'store'].sort());
    });
  });

  it('--debug names the requirement that accepted each instance copied from a list', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(path.join(dir, 'src'), { tag: 't', platforms: ['linux/amd64', 'linux/arm64'] });
      const policy = path.join(dir, 'policy.json');
      await writeFile(policy, ACCEPT_ALL);
      const r = await runFerry([
        '--policy',
        policy,
        '--debug',
        'copy',
        '-q',
        '--all',
        `oci:${dir}/src:t`,
        `oci:${dir}/out:t`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      for (const instance of made.instances) {
        assert.match(
          r.stderr,
          new RegExp(
            `policy: oci:${dir}/src:t: instance ${instance.digest} \\(${instance.platform.os}/${instance.platform.architecture}\\) accepted by default: requirement 1 \\(insecureAcceptAnything\\) accepted`,
          ),
        );
      }
    });
  });

  it('a docker:// source is decided by the most specific of its repository, namespaces and *.domain scopes', async () => {
    const reg = await startRegistry();
    try {
      await withTempDir(async (dir) => {
        await makeImage(path.join(dir, 'src'), { tag: 't', layers: 1, layerSize: 1024 });
        const pushed = await runFerry([
          'copy',
          '-q',
          '--dest-tls-verify=false',
          `oci:${dir}/src:t`,
          `docker://${reg.host}/team/app:t`,
        ]);
        assert.equal(pushed.code, 0, pushed.stderr);
        const policy = path.join(dir, 'policy.json');
        await writeFile(
          policy,
          JSON.stringify({
            default: [{ type: 'reject' }],
            transports: {
              docker: {
                [`${reg.host}/team`]: [{ type: 'insecureAcceptAnything' }],
                [`${reg.host}/team/app`]: [{ type: 'reject' }],
              },
            },
          }),
        );
        const pull = (name: string, out: string) =>
          runFerry([
            '--policy',
            policy,
            '--debug',
            'copy',
            '-q',
            '--src-tls-verify=false',
            `docker://${reg.host}/${name}`,
            `dir:${dir}/${out}`,
          ]);
        const refused = await pull('team/app:t', 'app');
        assert.equal(refused.code, 1);
        assert.match(
          refused.stderr,
          new RegExp(`by transports\\["docker"\\]\\["${reg.host}/team/app"\\]: requirement 1 \\(reject\\)`),
        );
        assert.ok(!existsSync(path.join(dir, 'app')));
        const other = await runFerry([
          'copy',
          '-q',
          '--src-tls-verify=false',
          '--dest-tls-verify=false',
          `docker://${reg.host}/team/app:t`,
          `docker://${reg.host}/team/other:t`,
        ]);
        assert.equal(other.code, 0, other.stderr);
        const accepted = await pull('team/other:t', 'other');
        assert.equal(accepted.code, 0, accepted.stderr);
        assert.match(accepted.stderr, new RegExp(`accepted by transports\\["docker"\\]\\["${reg.host}/team"\\]`));
      });
    } finally {
      await reg.stop();
    }
  });
});
