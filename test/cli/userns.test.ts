/** The ID maps a rootless containers-storage command asks newuidmap/newgidmap for (src/cli/userns.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { idMapArgs, subordinateRanges } from '../../src/cli/userns.js';

describe('rootless ID maps', () => {
  test("a user's /etc/subuid ranges, by name or numeric ID, in file order; malformed lines ignored", () => {
    const text = [
      'alice:100000:65536',
      'bob:165536:65536',
      '1001:300000:1000',
      'alice:400000:10',
      'alice:x:5',
      'alice:500000:0',
      '',
    ].join('\n');
    assert.deepEqual(subordinateRanges(text, 'alice', 1001), [
      { start: 100000, count: 65536 },
      { start: 300000, count: 1000 },
      { start: 400000, count: 10 },
    ]);
    assert.deepEqual(subordinateRanges(text, 'carol', 1002), []);
  });

  test('0 is the user; container IDs from 1 on follow the ranges back to back, as podman maps them', () => {
    assert.deepEqual(
      idMapArgs(1001, [
        { start: 100000, count: 65536 },
        { start: 300000, count: 1000 },
      ]),
      ['0', '1001', '1', '1', '100000', '65536', '65537', '300000', '1000'],
    );
  });
});
