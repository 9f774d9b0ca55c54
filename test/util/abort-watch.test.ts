import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { watchAbort } from '../../src/util/abort-watch.js';

describe('watchAbort', () => {
  test('many watchers of one signal: those still watching are called once on abort, the others never', async () => {
    const ac = new AbortController();
    const calls: number[] = [];
    const stops = Array.from({ length: 50 }, (_, i) => watchAbort(ac.signal, () => calls.push(i)));
    for (let i = 0; i < 50; i += 2) stops[i]?.();
    ac.abort();
    ac.abort();
    assert.deepEqual(
      calls,
      Array.from({ length: 25 }, (_, i) => 2 * i + 1),
    );
  });

  test('a signal aborted already calls the watcher soon, unless it stopped watching first', async () => {
    const ac = new AbortController();
    ac.abort();
    let called = 0;
    watchAbort(ac.signal, () => called++);
    const stop = watchAbort(ac.signal, () => called++);
    stop();
    assert.equal(called, 0, 'called synchronously');
    await Promise.resolve();
    assert.equal(called, 1);
  });
});
