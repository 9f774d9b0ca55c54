import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { probe, startRegistry } from './registry.js';

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('test registry helper', () => {
  test('restart() brings the registry back on the same port with its storage and upload sessions', async () => {
    const reg = await startRegistry();
    try {
      const body = Buffer.from('kept across a restart');
      const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      const start = await fetch(`${reg.url}/v2/keep/blobs/uploads/`, { method: 'POST' });
      assert.equal(start.status, 202);
      const location = new URL(start.headers.get('location') ?? '', reg.url);
      await reg.restart();
      location.searchParams.set('digest', digest);
      const put = await fetch(location, { method: 'PUT', body });
      assert.equal(put.status, 201);
      assert.equal((await probe(`${reg.url}/v2/keep/blobs/${digest}`, { method: 'HEAD' })).status, 200);
    } finally {
      await reg.stop();
    }
  });

  test('a plain registry answers 200 on /v2/ over http', async () => {
    const reg = await startRegistry();
    try {
      assert.match(reg.host, /^127\.0\.0\.1:\d+$/);
      assert.equal(reg.url, `http://${reg.host}`);
      const r = await probe(`${reg.url}/v2/`);
      assert.equal(r.status, 200);
    } finally {
      await reg.stop();
    }
  });

  test('an htpasswd registry answers 401 without credentials and 200 with them', async () => {
    const reg = await startRegistry({ auth: 'htpasswd' });
    try {
      assert.equal(reg.username, 'testuser');
      assert.ok(reg.password !== undefined && reg.password.length > 0);
      assert.equal((await probe(`${reg.url}/v2/`)).status, 401);
      assert.equal((await probe(`${reg.url}/v2/`, { username: reg.username, password: 'wrong' })).status, 401);
      assert.equal((await probe(`${reg.url}/v2/`, { username: reg.username, password: reg.password })).status, 200);
    } finally {
      await reg.stop();
    }
  });

  test('a TLS registry is rejected without its CA and accepted with it, for 127.0.0.1 and localhost', async () => {
    const reg = await startRegistry({ tls: true });
    try {
      assert.equal(reg.url, `https://${reg.host}`);
      assert.ok(reg.caPath !== undefined && reg.certDir !== undefined);
      assert.ok(existsSync(`${reg.certDir}/ca.crt`));
      await assert.rejects(probe(`${reg.url}/v2/`));
      const ca = readFileSync(reg.caPath);
      assert.equal((await probe(`${reg.url}/v2/`, { ca })).status, 200);
      assert.equal((await probe(`https://localhost:${reg.port}/v2/`, { ca })).status, 200);
    } finally {
      await reg.stop();
    }
  });

  test('an access-log registry writes each request to its log', async () => {
    const reg = await startRegistry({ accessLog: true });
    try {
      await probe(`${reg.url}/v2/_catalog`);
      let log = '';
      for (let i = 0; i < 40 && !log.includes('/v2/_catalog'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        log = readFileSync(reg.logPath, 'utf8');
      }
      assert.match(log, /"GET \/v2\/_catalog HTTP/);
    } finally {
      await reg.stop();
    }
  });

  test('stop() frees the port, removes the temp dir, and may be called twice', async () => {
    const reg = await startRegistry();
    assert.equal(await canBind(reg.port), false);
    await reg.stop();
    assert.equal(await canBind(reg.port), true);
    assert.equal(existsSync(reg.dir), false);
    await reg.stop();
    await assert.rejects(probe(`${reg.url}/v2/`));
  });

  test('two registries started at once get different ports', async () => {
    const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    try {
      assert.notEqual(a.port, b.port);
      assert.equal((await probe(`${a.url}/v2/`)).status, 200);
      assert.equal((await probe(`${b.url}/v2/`)).status, 200);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
