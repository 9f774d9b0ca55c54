/**
 * The fault matrix: push (oci: → docker://), pull (docker:// → an oci: layout that already holds an
 * image) and registry → registry copies of single and multi-arch images, each with one fault
 * injected by the proxy in front of a real registry. Every copy must end within its hard timeout,
 * with the exact digests or a FerryError, leave no image that looks complete but is not, keep the
 * image already in the layout, and recover from the transient faults.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FaultRule } from '../helpers/fault-proxy.js';
import { type Direction, FaultStage, type StagedImage } from './scenario.js';

/** Registry requests idle this long fail (the stall fault holds a request longer). */
const CLIENT_TIMEOUT_MS = 1000;
const STALL_MS = 8000;

interface Case {
  direction: Direction;
  multi?: boolean;
  /** Faults on the proxy in front of the source registry (pull, copy) or the destination (push). */
  rules?: FaultRule[];
  /** copy only: faults on the destination's proxy. */
  destRules?: FaultRule[];
  /** 'recover': the copy must succeed; 'either': success or a clean, typed failure; 'give-up': a clean, typed failure. */
  expect: 'recover' | 'either' | 'give-up';
}

const cases: Record<string, Case> = {
  'push recovers from a reset in the middle of a blob upload PATCH': {
    direction: 'push',
    rules: [{ kind: 'reset-request', on: 'upload-patch', offset: 20_000 }],
    expect: 'recover',
  },
  'push of a multi-arch image recovers from a reset of the PUT that completes an upload': {
    direction: 'push',
    multi: true,
    rules: [{ kind: 'reset-request', on: 'upload-put' }],
    expect: 'recover',
  },
  'push recovers from a reset of the manifest PUT': {
    direction: 'push',
    rules: [{ kind: 'reset-request', on: 'manifest-put', offset: 10 }],
    expect: 'recover',
  },
  'push recovers from a stalled upload PATCH': {
    direction: 'push',
    rules: [{ kind: 'stall', on: 'upload-patch' }],
    expect: 'recover',
  },
  'push recovers from 429 on an upload PATCH': {
    direction: 'push',
    rules: [{ kind: 'too-many-requests', on: 'upload-patch' }],
    expect: 'recover',
  },
  'push of a multi-arch image recovers from 429 with Retry-After on upload start': {
    direction: 'push',
    multi: true,
    rules: [{ kind: 'too-many-requests-retry-after', on: 'upload-start' }],
    expect: 'recover',
  },
  'push recovers from 503 on the manifest PUT': {
    direction: 'push',
    rules: [{ kind: 'unavailable', on: 'manifest-put' }],
    expect: 'recover',
  },
  'push recovers from 503 with Retry-After on a blob HEAD': {
    direction: 'push',
    rules: [{ kind: 'unavailable-retry-after', on: 'blob-head' }],
    expect: 'recover',
  },
  'push recovers from a manifest PUT answered MANIFEST_BLOB_UNKNOWN twice (a blob link being rewritten)': {
    direction: 'push',
    rules: [{ kind: 'manifest-blob-unknown', on: 'manifest-put', times: 2 }],
    expect: 'recover',
  },
  'push gives up cleanly when every manifest PUT answers MANIFEST_BLOB_UNKNOWN': {
    direction: 'push',
    rules: [{ kind: 'manifest-blob-unknown', on: 'manifest-put', times: 1000 }],
    expect: 'give-up',
  },
  'push after 500 on upload completion succeeds or fails cleanly': {
    direction: 'push',
    rules: [{ kind: 'upload-500', on: 'upload-put' }],
    expect: 'either',
  },
  'push survives a registry restart during a blob upload': {
    direction: 'push',
    rules: [{ kind: 'restart', on: 'upload-patch', offset: 10_000 }],
    expect: 'recover',
  },
  'push of a multi-arch image survives a registry restart at a manifest PUT': {
    direction: 'push',
    multi: true,
    rules: [{ kind: 'restart', on: 'manifest-put', nth: 2 }],
    expect: 'recover',
  },
  'pull recovers from a reset in the middle of a blob body': {
    direction: 'pull',
    rules: [{ kind: 'reset-response', on: 'blob-get', offset: 30_000 }],
    expect: 'recover',
  },
  'pull of a multi-arch image recovers from a truncated blob body': {
    direction: 'pull',
    multi: true,
    rules: [{ kind: 'truncate', on: 'blob-get' }],
    expect: 'recover',
  },
  'pull with a corrupted blob byte succeeds or fails cleanly, never stores it': {
    direction: 'pull',
    rules: [{ kind: 'corrupt', on: 'blob-get', offset: 4096 }],
    expect: 'either',
  },
  'pull recovers from a reset in the middle of the manifest body': {
    direction: 'pull',
    rules: [{ kind: 'reset-response', on: 'manifest-get', offset: 100 }],
    expect: 'recover',
  },
  'pull of a multi-arch image recovers from a truncated instance manifest': {
    direction: 'pull',
    multi: true,
    rules: [{ kind: 'truncate', on: 'manifest-get', nth: 2 }],
    expect: 'recover',
  },
  'pull recovers from a stalled blob GET': {
    direction: 'pull',
    rules: [{ kind: 'stall', on: 'blob-get' }],
    expect: 'recover',
  },
  'pull of a multi-arch image recovers from a blob body that stalls halfway': {
    direction: 'pull',
    multi: true,
    rules: [{ kind: 'stall-body', on: 'blob-get', nth: 2 }],
    expect: 'recover',
  },
  'pull recovers from 429 with Retry-After on the manifest': {
    direction: 'pull',
    rules: [{ kind: 'too-many-requests-retry-after', on: 'manifest-get' }],
    expect: 'recover',
  },
  'pull of a multi-arch image recovers from 503 on a blob GET': {
    direction: 'pull',
    multi: true,
    rules: [{ kind: 'unavailable', on: 'blob-get', nth: 3 }],
    expect: 'recover',
  },
  'copy recovers from a reset of a source blob body': {
    direction: 'copy',
    rules: [{ kind: 'reset-response', on: 'blob-get', offset: 50_000 }],
    expect: 'recover',
  },
  'copy of a multi-arch image recovers from a reset of a destination upload PATCH': {
    direction: 'copy',
    multi: true,
    destRules: [{ kind: 'reset-request', on: 'upload-patch', offset: 40_000 }],
    expect: 'recover',
  },
  'copy recovers from faults on both sides (truncated source blob, 503 on a destination PATCH)': {
    direction: 'copy',
    rules: [{ kind: 'truncate', on: 'blob-get' }],
    destRules: [{ kind: 'unavailable', on: 'upload-patch' }],
    expect: 'recover',
  },
  'copy with a corrupted source blob succeeds or fails cleanly, never stores it': {
    direction: 'copy',
    multi: true,
    rules: [{ kind: 'corrupt', on: 'blob-get', nth: 2 }],
    expect: 'either',
  },
  'copy survives a restart of the destination registry during an upload': {
    direction: 'copy',
    destRules: [{ kind: 'restart', on: 'upload-patch' }],
    expect: 'recover',
  },
  'pull gives up cleanly, within its retry bound, when every blob GET answers 503': {
    direction: 'pull',
    rules: [{ kind: 'unavailable', on: 'blob-get', times: 1000 }],
    expect: 'give-up',
  },
  'push gives up cleanly, within its retry bound, when every upload PATCH is reset': {
    direction: 'push',
    multi: true,
    rules: [{ kind: 'reset-request', on: 'upload-patch', offset: 1000, times: 1000 }],
    expect: 'give-up',
  },
  'copy recovers from a stalled source blob GET': {
    direction: 'copy',
    rules: [{ kind: 'stall', on: 'blob-get' }],
    expect: 'recover',
  },
  'copy recovers from a source manifest body that stalls halfway': {
    direction: 'copy',
    rules: [{ kind: 'stall-body', on: 'manifest-get' }],
    expect: 'recover',
  },
};

describe('fault matrix', () => {
  let stage: FaultStage;

  before(async () => {
    stage = await FaultStage.start({
      stallMs: STALL_MS,
      copyTimeoutMs: 30_000,
      skopeoCopy: true,
      registryOptions: { retryDelayMs: 100, registryTimeoutMs: CLIENT_TIMEOUT_MS },
    });
  });
  after(async () => {
    await stage?.stop();
  });

  for (const [name, c] of Object.entries(cases)) {
    test(name, async () => {
      const img = stage.images.find((i: StagedImage) => i.multi === (c.multi === true));
      assert.ok(img !== undefined);
      stage.calm();
      const source = c.direction === 'push' ? undefined : stage.pa;
      const faulted = c.direction === 'push' ? stage.pa : source;
      faulted?.setRules(c.rules ?? []);
      stage.pb.setRules(c.direction === 'copy' ? (c.destRules ?? []) : []);
      const before = stage.pa.total() + stage.pb.total();
      const judged = await stage.run(c.direction, img);
      const injected = stage.pa.total() + stage.pb.total() - before;
      stage.calm();
      const report = `${judged.verdict} after ${judged.ms} ms: ${judged.detail}`;
      const planned = [...(c.rules ?? []), ...(c.direction === 'copy' ? (c.destRules ?? []) : [])];
      const most = planned.reduce((n, r) => n + (r.times ?? 1), 0);
      assert.ok(injected >= planned.length && injected <= most, `${injected} faults injected (${report})`);
      assert.ok(judged.verdict === 'success' || judged.verdict === 'clean', report);
      if (c.expect === 'recover') assert.equal(judged.verdict, 'success', report);
      if (c.expect === 'give-up') assert.equal(judged.verdict, 'clean', report);
      // A stalled request must end by the client's idle timeout, long before the proxy gives up on it.
      if ([...(c.rules ?? []), ...(c.destRules ?? [])].some((r) => r.kind === 'stall' || r.kind === 'stall-body'))
        assert.ok(judged.ms < STALL_MS - 2000, `took ${judged.ms} ms`);
    });
  }

  test('the images already in the source registry survive every fault above, restarts included', async () => {
    assert.deepEqual(await stage.sourceProblems(), []);
  });
});
