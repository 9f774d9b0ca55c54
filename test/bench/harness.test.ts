import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countRequests, formatCounts } from '../../bench/requests.js';
import { median, parseTimeOutput, ratio, summarize, throughputMBps } from '../../bench/stats.js';
import { formatRatio, renderTable } from '../../bench/table.js';

test('median of an odd count is the middle value, of an even count the mean of the middle two', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('summarize takes the median of each field separately', () => {
  const s = summarize([
    { wallS: 1, cpuS: 9, rssMiB: 20 },
    { wallS: 3, cpuS: 1, rssMiB: 22 },
    { wallS: 2, cpuS: 5, rssMiB: 40 },
  ]);
  assert.deepEqual(s, { wallS: 2, cpuS: 5, rssMiB: 22 });
});

test('parses /usr/bin/time output, also after a non-zero-status line', () => {
  assert.deepEqual(parseTimeOutput('0.52 0.40 0.08 22528\n'), {
    elapsedS: 0.52,
    userS: 0.4,
    sysS: 0.08,
    maxRssKiB: 22528,
  });
  assert.equal(parseTimeOutput('Command exited with non-zero status 1\n1.00 0.50 0.10 1024\n').maxRssKiB, 1024);
  assert.throws(() => parseTimeOutput('garbage'), /cannot read/);
});

test('ratio is NaN when the divisor is missing or zero, and throughput is MB/s', () => {
  assert.equal(ratio(1, 2), 0.5);
  assert.ok(Number.isNaN(ratio(1, 0)));
  assert.equal(throughputMBps(50_000_000, 0.5), 100);
  assert.equal(formatRatio(0.8, 1), '0.80');
  assert.equal(formatRatio(undefined, 1), '—');
});

test('counts registry requests by method and mounts from an access log', () => {
  const log = [
    '127.0.0.1 - - [29/Nov/2026:03:50:00 +0000] "HEAD /v2/a/b/blobs/sha256:aa HTTP/1.1" 404 157 "" "skopeo/1.9.3"',
    '127.0.0.1 - - [29/Nov/2026:03:50:00 +0000] "POST /v2/a/b/blobs/uploads/?mount=sha256:aa&from=src%2Fimg HTTP/1.1" 201 0 "" "x"',
    '127.0.0.1 - - [29/Nov/2026:03:50:00 +0000] "POST /v2/a/b/blobs/uploads/ HTTP/1.1" 202 0 "" "x"',
    '127.0.0.1 - - [29/Nov/2026:03:50:00 +0000] "PATCH /v2/a/b/blobs/uploads/u?_state=s HTTP/1.1" 202 0 "" "x"',
    '127.0.0.1 - - [29/Nov/2026:03:50:00 +0000] "PUT /v2/a/b/blobs/uploads/u?digest=sha256:bb HTTP/1.1" 201 0 "" "x"',
    '127.0.0.1 - - [29/Nov/2026:03:50:00 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "x"',
    'time="2026-11-29T03:50:00Z" level=error msg="response completed with error" err.code="blob unknown"',
    '',
  ].join('\n');
  const c = countRequests(log);
  assert.deepEqual(c, { HEAD: 1, GET: 1, POST: 2, PATCH: 1, PUT: 1, DELETE: 0, mounts: 1 });
  assert.equal(formatCounts(c), '1/1/2/1/1; 1');
});

test('renders one markdown row per scenario with both tools and the ratios', () => {
  const table = renderTable([
    {
      id: '1',
      name: 'push',
      ferry: { wallS: 0.5, cpuS: 0.4, rssMiB: 60 },
      skopeo: { wallS: 1, cpuS: 0.5, rssMiB: 20 },
      ferryRequests: { HEAD: 9, GET: 1, POST: 9, PATCH: 9, PUT: 10, DELETE: 0, mounts: 0 },
      skopeoRequests: { HEAD: 17, GET: 1, POST: 9, PATCH: 9, PUT: 10, DELETE: 0, mounts: 0 },
      note: 'a | b',
    },
    { id: '7', name: 'recompress', skopeo: { wallS: 0.05, cpuS: 0.3, rssMiB: 74 } },
  ]);
  const lines = table.trim().split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^\| # \| scenario \| wall s Ferry \| wall s skopeo \| wall F\/s/);
  assert.equal(
    lines[2],
    '| 1 | push | 0.50 | 1.00 | 0.50 | 0.40 | 0.50 | 0.80 | 60 | 20 | 3.00 | 9/1/9/9/10; 0 | 17/1/9/9/10; 0 | a \\| b |',
  );
  assert.equal(lines[3], '| 7 | recompress | — | 0.050 | — | — | 0.30 | — | — | 74 | — | — | — |  |');
});
