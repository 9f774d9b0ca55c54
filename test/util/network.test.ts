import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { sleep } from '../../src/util/network.js';

describe('sleep', () => {
  test('twenty retries waiting on one signal: its abort fails them all, and node warns of no listener leak', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const shared = new AbortController();
      const waits = Array.from({ length: 20 }, () => sleep(60_000, shared.signal));
      shared.abort();
      const outcomes = await Promise.allSettled(waits);
      assert.equal(outcomes.filter((o) => o.status === 'rejected' && isFerryError(o.reason, 'ABORTED')).length, 20);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
