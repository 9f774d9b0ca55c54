import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noteBytesStreamed, YOUNG_GARBAGE_COLLECTOR } from '../../src/util/young-garbage.js';

const MiB = 1024 * 1024;

test('noteBytesStreamed runs the installed collector once per 4 MiB streamed, and nothing when none is installed', () => {
  const g = globalThis as Record<symbol, unknown>;
  // Nothing installed: counting alone must not fail.
  for (let i = 0; i < 100; i++) noteBytesStreamed(MiB);
  let runs = 0;
  g[YOUNG_GARBAGE_COLLECTOR] = () => {
    runs++;
  };
  try {
    noteBytesStreamed(4 * MiB); // completes whatever the count held before, then starts again
    runs = 0;
    for (let i = 0; i < 64; i++) noteBytesStreamed(64 * 1024); // 4 MiB in 64 KiB reads
    assert.equal(runs, 1);
    for (let i = 0; i < 63; i++) noteBytesStreamed(64 * 1024);
    assert.equal(runs, 1, 'not before the next 4 MiB');
    noteBytesStreamed(64 * 1024);
    assert.equal(runs, 2);
  } finally {
    delete g[YOUNG_GARBAGE_COLLECTOR];
  }
});
