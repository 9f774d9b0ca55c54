import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { run } from './run.js';
import { withTempDir } from './tmp.js';

describe('test helpers: temp dirs and child processes', () => {
  test('withTempDir removes its dir after the callback returns', async () => {
    let seen = '';
    const value = await withTempDir(async (dir) => {
      seen = dir;
      await writeFile(join(dir, 'f'), 'x');
      return 42;
    });
    assert.equal(value, 42);
    assert.ok(seen !== '');
    assert.equal(existsSync(seen), false);
  });

  test('withTempDir removes its dir when the callback throws, and rethrows', async () => {
    let seen = '';
    await assert.rejects(
      withTempDir(async (dir) => {
        seen = dir;
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(existsSync(seen), false);
  });

  test('run collects exit code, stdout and stderr, and feeds stdin', async () => {
    const r = await run(
      process.execPath,
      ['-e', "process.stdin.pipe(process.stdout); process.stderr.write('err'); process.exitCode = 3"],
      { input: 'hello' },
    );
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'hello');
    assert.equal(r.stderr, 'err');
  });
});
