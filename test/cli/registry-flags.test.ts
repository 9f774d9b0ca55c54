import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialsKey } from '../../src/cli/login.js';
import { parseGoDuration, retryOptions } from '../../src/cli/registry-flags.js';
import { runFerry } from '../helpers/run.js';

describe('--retry-delay durations', () => {
  it("reads Go's duration syntax in milliseconds", () => {
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('250ms'), 250);
    assert.equal(parseGoDuration('2s'), 2000);
    assert.equal(parseGoDuration('1.5s'), 1500);
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('1h'), 3_600_000);
    assert.equal(parseGoDuration('500us'), 0.5);
  });

  it('refuses what Go refuses: no unit, an unknown unit, an empty string', () => {
    for (const bad of ['', '5', 's', '1d', '1.s.', '1s2', 'abc']) assert.equal(parseGoDuration(bad), undefined, bad);
  });
});

describe('retry flags', () => {
  it('maps --retry-times and --retry-delay onto the ImageOptions retry fields', () => {
    assert.deepEqual(retryOptions({ retryTimes: '3', retryDelay: '1500ms' }), { retryTimes: 3, retryDelayMs: 1500 });
    assert.deepEqual(retryOptions({}), {});
  });

  it('refuses a negative or non-numeric --retry-times and a malformed --retry-delay', () => {
    assert.throws(() => retryOptions({ retryTimes: '-1' }), /--retry-times/);
    assert.throws(() => retryOptions({ retryTimes: 'x' }), /--retry-times/);
    assert.throws(() => retryOptions({ retryDelay: '10' }), /--retry-delay/);
    assert.throws(() => retryOptions({ retryDelay: '-1s' }), /--retry-delay/);
  });

  for (const command of ['inspect', 'copy', 'delete', 'list-tags']) {
    it(`ferry ${command} declares --retry-times and --retry-delay`, async () => {
      const r = await runFerry([command, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /--retry-times <n>/);
      assert.match(r.stdout, /--retry-delay <duration>/);
    });
  }

  it('fails a bad --retry-times before any I/O', async () => {
    const r = await runFerry(['inspect', '--retry-times', 'many', 'docker://127.0.0.1:1/x/y:t']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--retry-times wants a non-negative integer, got "many"/);
  });
});

describe('login keys', () => {
  it('keeps a host, a host:port and a namespaced repository as the auth.json key', async () => {
    assert.deepEqual(await credentialsKey('quay.io'), { key: 'quay.io', registry: 'quay.io' });
    assert.deepEqual(await credentialsKey('127.0.0.1:5000'), { key: '127.0.0.1:5000', registry: '127.0.0.1:5000' });
    assert.deepEqual(await credentialsKey('quay.io/ns/repo'), { key: 'quay.io/ns/repo', registry: 'quay.io' });
  });

  it('turns a URL into its host[:port]', async () => {
    assert.deepEqual(await credentialsKey('https://registry.example:5000/v2/'), {
      key: 'registry.example:5000',
      registry: 'registry.example:5000',
    });
  });

  it('refuses a key with a tag or a digest', async () => {
    await assert.rejects(credentialsKey('quay.io/ns/repo:tag'), /contains tag or digest/);
  });
});

describe('login and logout usage errors', () => {
  it('refuses --password-stdin together with --password, and without --username', async () => {
    const both = await runFerry(['login', '-u', 'a', '-p', 'SECRETPW', '--password-stdin', '127.0.0.1:1']);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /Can't specify both --password-stdin and --password/);
    assert.doesNotMatch(both.stdout + both.stderr, /SECRETPW/);
    const noUser = await runFerry(['login', '--password-stdin', '127.0.0.1:1'], { input: 'SECRETPW\n' });
    assert.equal(noUser.code, 1);
    assert.match(noUser.stderr, /Must provide --username with --password-stdin/);
  });

  it('refuses logout --all with a registry, and logout without one', async () => {
    const all = await runFerry(['logout', '--all', 'quay.io']);
    assert.equal(all.code, 1);
    assert.match(all.stderr, /--all takes no arguments/);
    const none = await runFerry(['logout']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /please provide a registry to logout from/);
  });
});
