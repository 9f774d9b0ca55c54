/**
 * A small in-memory Distribution registry (manifests, blobs with Range reads, monolithic and
 * PATCH uploads) with a fault hook, for copy-engine tests of failures a real registry will not
 * produce on demand: resets at a byte offset of a request or response body, 5xx/429 answers,
 * damaged bytes.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** What to do to one request instead of (or while) serving it. */
export type Fault =
  /** Close the connection after this many bytes of the response body. */
  | { resetResponseAt: number }
  /** Send this many bytes of the response body, then nothing more (the connection stays open). */
  | { stallResponseAt: number }
  /** Close the connection after this many bytes of the request body were received. */
  | { resetRequestAt: number }
  /** Answer this status with a Distribution error of `code` (default UNKNOWN); the request body is read first. */
  | { status: number; headers?: Record<string, string>; code?: string }
  /** Serve the blob with one byte changed (at `at`, default the middle). */
  | { corrupt: true; at?: number }
  /** Close the connection without answering. */
  | { drop: true }
  /** Stop reading the request and never answer (the connection stays open). */
  | { stallRequest: true };

export interface FakeRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  at: number;
}

export interface FakeRegistry {
  host: string;
  blobs: Map<string, Buffer>;
  manifests: Map<string, { bytes: Buffer; mediaType: string }>;
  requests: FakeRequest[];
  /** Return a fault for a request, or undefined to serve it normally. */
  fault: (req: FakeRequest) => Fault | undefined;
  /** Whether blob GETs honour `Range` (default true). */
  ranges: boolean;
  close(): Promise<void>;
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function readBody(req: IncomingMessage, resetAt: number | undefined): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    req.on('data', (c: Buffer) => {
      if (resetAt !== undefined && got + c.length >= resetAt) {
        req.socket.destroy();
        resolve(undefined);
        return;
      }
      got += c.length;
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
    req.on('close', () => resolve(undefined));
  });
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Buffer,
  resetAt?: number,
  stallAt?: number,
): void {
  res.writeHead(status, { 'content-length': String(body.length), ...headers });
  if (stallAt !== undefined) {
    res.write(body.subarray(0, stallAt));
    return;
  }
  if (resetAt === undefined) {
    res.end(body);
    return;
  }
  res.write(body.subarray(0, resetAt), () => setTimeout(() => res.socket?.destroy(), 10));
}

export async function startFakeRegistry(): Promise<FakeRegistry> {
  const uploads = new Map<string, Buffer[]>();
  let nextUpload = 0;
  const reg: FakeRegistry = {
    host: '',
    blobs: new Map(),
    manifests: new Map(),
    requests: [],
    fault: () => undefined,
    ranges: true,
    close: async () => {},
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const seen: FakeRequest = {
      method: req.method ?? '',
      path: url.pathname + url.search,
      headers: req.headers,
      at: Date.now(),
    };
    reg.requests.push(seen);
    const fault = reg.fault(seen);
    if (fault !== undefined && 'stallRequest' in fault) {
      req.pause();
      return;
    }
    const body = await readBody(
      req,
      fault !== undefined && 'resetRequestAt' in fault ? fault.resetRequestAt : undefined,
    );
    if (body === undefined) return;
    if (fault !== undefined && 'drop' in fault) {
      req.socket.destroy();
      return;
    }
    if (fault !== undefined && 'status' in fault) {
      const error = { errors: [{ code: fault.code ?? 'UNKNOWN', message: 'injected' }] };
      send(
        res,
        fault.status,
        { 'content-type': 'application/json', ...fault.headers },
        Buffer.from(JSON.stringify(error)),
      );
      return;
    }
    const resetAt = fault !== undefined && 'resetResponseAt' in fault ? fault.resetResponseAt : undefined;
    const stallAt = fault !== undefined && 'stallResponseAt' in fault ? fault.stallResponseAt : undefined;
    if (url.pathname === '/v2/') return send(res, 200, {}, Buffer.from('{}'));
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    if (m === null) return send(res, 404, {}, Buffer.alloc(0));
    const [, repo, kind, rest] = m as unknown as [string, string, string, string];
    if (kind === 'manifests') {
      const key = `${repo}:${rest}`;
      if (req.method === 'PUT') {
        const mediaType = req.headers['content-type'] ?? '';
        const digest = sha256(body);
        reg.manifests.set(key, { bytes: body, mediaType });
        reg.manifests.set(`${repo}:${digest}`, { bytes: body, mediaType });
        return send(
          res,
          201,
          { 'docker-content-digest': digest, location: `/v2/${repo}/manifests/${digest}` },
          Buffer.alloc(0),
        );
      }
      const found = reg.manifests.get(key);
      if (found === undefined)
        return send(
          res,
          404,
          { 'content-type': 'application/json' },
          Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}'),
        );
      const headers = { 'content-type': found.mediaType, 'docker-content-digest': sha256(found.bytes) };
      if (req.method === 'HEAD') {
        res.writeHead(200, { ...headers, 'content-length': String(found.bytes.length) });
        res.end();
        return;
      }
      return send(res, 200, headers, found.bytes, resetAt);
    }
    if (rest.startsWith('uploads/')) {
      const id = rest.slice('uploads/'.length);
      const location = (n: string): string => `/v2/${repo}/blobs/uploads/${n}`;
      if (req.method === 'POST') {
        const n = String(++nextUpload);
        uploads.set(n, []);
        return send(res, 202, { location: location(n), range: '0-0' }, Buffer.alloc(0));
      }
      const parts = uploads.get(id);
      if (parts === undefined)
        return send(
          res,
          404,
          { 'content-type': 'application/json' },
          Buffer.from('{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"no"}]}'),
        );
      if (req.method === 'DELETE') {
        uploads.delete(id);
        return send(res, 204, {}, Buffer.alloc(0));
      }
      parts.push(body);
      if (req.method === 'PATCH') {
        const size = parts.reduce((n, p) => n + p.length, 0);
        return send(res, 202, { location: location(id), range: `0-${Math.max(0, size - 1)}` }, Buffer.alloc(0));
      }
      if (req.method === 'PUT') {
        const whole = Buffer.concat(parts);
        const digest = url.searchParams.get('digest');
        uploads.delete(id);
        if (digest !== sha256(whole)) {
          return send(
            res,
            400,
            { 'content-type': 'application/json' },
            Buffer.from('{"errors":[{"code":"DIGEST_INVALID","message":"digest did not match"}]}'),
          );
        }
        reg.blobs.set(digest, whole);
        return send(
          res,
          201,
          { 'docker-content-digest': digest, location: `/v2/${repo}/blobs/${digest}` },
          Buffer.alloc(0),
        );
      }
      return send(res, 405, {}, Buffer.alloc(0));
    }
    const blob = reg.blobs.get(rest);
    if (blob === undefined)
      return send(
        res,
        404,
        { 'content-type': 'application/json' },
        Buffer.from('{"errors":[{"code":"BLOB_UNKNOWN","message":"no"}]}'),
      );
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': String(blob.length), 'docker-content-digest': rest });
      res.end();
      return;
    }
    let served = blob;
    if (fault !== undefined && 'corrupt' in fault) {
      served = Buffer.from(blob);
      const at = fault.at ?? served.length >> 1;
      served[at] = (served[at]! ^ 0xff) & 0xff;
    }
    const range = /^bytes=([0-9]+)-$/.exec(req.headers.range ?? '');
    if (range !== null && reg.ranges) {
      const from = Number(range[1]);
      return send(
        res,
        206,
        { 'content-range': `bytes ${from}-${blob.length - 1}/${blob.length}` },
        served.subarray(from),
        resetAt,
        stallAt,
      );
    }
    return send(res, 200, { 'docker-content-digest': rest }, served, resetAt, stallAt);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  reg.host = `127.0.0.1:${port}`;
  reg.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return reg;
}
