/**
 * A fault-injection HTTP proxy on 127.0.0.1 in front of a plain-http test registry (registry.ts):
 *
 *   const proxy = await startFaultProxy(reg, { rules: [{ kind: 'reset-response', on: 'blob-get', offset: 1000 }] });
 *   // docker://${proxy.host}/repo:tag, tlsVerify: false
 *   proxy.counts  // faults injected, by kind
 *   await proxy.stop();
 *
 * Faults come from explicit rules (the nth matching request, `times` times) and/or at random from a
 * seeded PRNG (`random: { seed, probability }`); at most `maxFaults` are injected, so every run ends.
 * Requests are classified by method and path (blob GET, upload PATCH/PUT, manifest GET/PUT, ...) so
 * rules can target them. Each client request goes upstream on a fresh connection; the client side
 * keeps its connection alive. The Host header is passed through, so the registry's Location URLs
 * point back at the proxy.
 */
import { type IncomingMessage, request as httpRequest, type ServerResponse, createServer } from 'node:http';
import type { Socket } from 'node:net';

export type FaultKind =
  /** The client's connection is reset after `offset` request-body bytes were forwarded. */
  | 'reset-request'
  /** The client's connection is reset after `offset` response-body bytes. */
  | 'reset-response'
  /** The response ends (FIN) after `offset` of its announced body bytes. */
  | 'truncate'
  /** One byte of a blob body, at `offset`, is flipped. */
  | 'corrupt'
  /** No answer for `stallMs`, then the connection is reset. */
  | 'stall'
  /** The response stops for `stallMs` after `offset` body bytes, then the connection is reset. */
  | 'stall-body'
  | 'too-many-requests'
  | 'too-many-requests-retry-after'
  | 'unavailable'
  | 'unavailable-retry-after'
  /** The PUT that completes a blob upload answers 500 (not forwarded). */
  | 'upload-500'
  /**
   * A manifest PUT answers 400 MANIFEST_BLOB_UNKNOWN (not forwarded), as Distribution does for a
   * moment when another writer rewrites the repository's link of a blob the manifest names.
   */
  | 'manifest-blob-unknown'
  /** The registry process is stopped and started again while this request is in flight. */
  | 'restart';

export const FAULT_KINDS: readonly FaultKind[] = [
  'reset-request',
  'reset-response',
  'truncate',
  'corrupt',
  'stall',
  'stall-body',
  'too-many-requests',
  'too-many-requests-retry-after',
  'unavailable',
  'unavailable-retry-after',
  'upload-500',
  'manifest-blob-unknown',
  'restart',
];

export type RequestClass =
  | 'ping'
  | 'blob-get'
  | 'blob-head'
  | 'upload-start'
  | 'upload-patch'
  | 'upload-put'
  | 'manifest-get'
  | 'manifest-head'
  | 'manifest-put'
  | 'other';

/** Distribution API routes, by method and path (https://distribution.github.io/distribution/spec/api/). */
export function classifyRequest(method: string, path: string): RequestClass {
  const p = path.split('?')[0] ?? '';
  if (p === '/v2/' || p === '/v2') return 'ping';
  if (/^\/v2\/.+\/blobs\/uploads\/?$/.test(p)) return method === 'POST' ? 'upload-start' : 'other';
  if (/^\/v2\/.+\/blobs\/uploads\/[^/]+$/.test(p)) {
    if (method === 'PATCH') return 'upload-patch';
    if (method === 'PUT') return 'upload-put';
    return 'other';
  }
  if (/^\/v2\/.+\/blobs\/[^/]+$/.test(p)) {
    if (method === 'GET') return 'blob-get';
    if (method === 'HEAD') return 'blob-head';
    return 'other';
  }
  if (/^\/v2\/.+\/manifests\/[^/]+$/.test(p)) {
    if (method === 'GET') return 'manifest-get';
    if (method === 'HEAD') return 'manifest-head';
    if (method === 'PUT') return 'manifest-put';
  }
  return 'other';
}

const EVERY_REQUEST: readonly RequestClass[] = [
  'blob-get',
  'blob-head',
  'upload-start',
  'upload-patch',
  'upload-put',
  'manifest-get',
  'manifest-head',
  'manifest-put',
];
/** The requests the Retry-After kinds target. */
const WAITABLE_REQUESTS: readonly RequestClass[] = [
  'blob-get',
  'blob-head',
  'upload-start',
  'upload-patch',
  'manifest-get',
  'manifest-put',
];

/** Where each fault can happen (a reset in a request body needs a body, a corrupt byte a blob, ...). */
export const FAULT_TARGETS: Record<FaultKind, readonly RequestClass[]> = {
  'reset-request': ['upload-patch', 'upload-put', 'manifest-put'],
  'reset-response': ['blob-get', 'manifest-get'],
  truncate: ['blob-get', 'manifest-get'],
  corrupt: ['blob-get'],
  'stall-body': ['blob-get', 'manifest-get'],
  stall: EVERY_REQUEST,
  'too-many-requests': EVERY_REQUEST,
  'too-many-requests-retry-after': WAITABLE_REQUESTS,
  unavailable: EVERY_REQUEST,
  'unavailable-retry-after': WAITABLE_REQUESTS,
  'upload-500': ['upload-put'],
  'manifest-blob-unknown': ['manifest-put'],
  restart: ['upload-patch', 'upload-put', 'manifest-put'],
};

export interface FaultRule {
  kind: FaultKind;
  /** Request classes this rule applies to (default: every class the kind can target). */
  on?: RequestClass | RequestClass[];
  /** Only requests whose path (with query) matches. */
  path?: RegExp;
  /** Skip the first nth-1 matching requests (default 1: the first). */
  nth?: number;
  /** How many matching requests, from the nth on, get the fault (default 1). */
  times?: number;
  /** Byte offset for resets, truncation and corruption (default: half the body, when its length is known). */
  offset?: number;
  /** Retry-After seconds for the `-retry-after` kinds (default 1). */
  retryAfterSeconds?: number;
}

export interface RandomFaults {
  seed: number;
  /** Chance that a request a fault can target gets one (0..1). */
  probability: number;
  /** Kinds to draw from, with weights (default: every kind, weight 1). */
  weights?: Partial<Record<FaultKind, number>>;
}

export interface FaultProxyOptions {
  rules?: FaultRule[];
  random?: RandomFaults;
  /** No faults are planned once this many were injected (default 1000); body faults already planned may still land. */
  maxFaults?: number;
  /** How long a stall holds the request before resetting it (default 3000 ms). */
  stallMs?: number;
}

/** The registry the proxy fronts; `restart` is needed only for the 'restart' fault. */
export interface ProxyTarget {
  port: number;
  restart?: () => Promise<void>;
}

export interface InjectedFault {
  kind: FaultKind;
  method: string;
  path: string;
  offset?: number;
}

export interface FaultProxy {
  host: string;
  port: number;
  url: string;
  /** Faults injected so far, by kind. */
  readonly counts: Record<FaultKind, number>;
  readonly injected: InjectedFault[];
  /** Total faults injected. */
  total(): number;
  /** Requests seen, by class. */
  readonly requests: Record<RequestClass, number>;
  /** Replaces the rules (their nth counters start again). */
  setRules(rules: FaultRule[]): void;
  /** Turns random faults on (with these settings) or off. */
  setRandom(random: RandomFaults | undefined): void;
  /** Resolves when no restart is under way. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** mulberry32: a tiny seedable PRNG, so a random run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planned {
  kind: FaultKind;
  offset?: number;
  /** 0..1: where in a body of yet unknown length the fault falls, when no offset is given. */
  fraction: number;
  retryAfterSeconds: number;
}

/** The faults that answer in the registry's place, with its error body (distribution registry/api/errcode). */
const STATUS_FAULTS = {
  'too-many-requests': { status: 429, code: 'TOOMANYREQUESTS', message: 'too many requests', retryAfter: false },
  'too-many-requests-retry-after': {
    status: 429,
    code: 'TOOMANYREQUESTS',
    message: 'too many requests',
    retryAfter: true,
  },
  unavailable: { status: 503, code: 'UNAVAILABLE', message: 'service unavailable', retryAfter: false },
  'unavailable-retry-after': { status: 503, code: 'UNAVAILABLE', message: 'service unavailable', retryAfter: true },
  'upload-500': { status: 500, code: 'UNKNOWN', message: 'upload completion failed', retryAfter: false },
  'manifest-blob-unknown': {
    status: 400,
    code: 'MANIFEST_BLOB_UNKNOWN',
    message: 'blob unknown to registry',
    retryAfter: false,
  },
} as const;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);

function forwardHeaders(raw: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    if (HOP_BY_HOP.has(name)) continue;
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ errors: [{ code, message, detail: null }] });
}

function resetSocket(socket: Socket | null | undefined): void {
  if (socket === null || socket === undefined || socket.destroyed) return;
  socket.resetAndDestroy();
}

function bodyOffset(plan: Planned, length: number | undefined): number {
  // An offset past the end falls on the last byte, so a rule always fires on a non-empty body.
  if (plan.offset !== undefined)
    return length === undefined || length <= 0 ? plan.offset : Math.min(plan.offset, length - 1);
  if (length === undefined || length <= 0) return Math.floor(plan.fraction * 65536);
  return Math.min(length - 1, Math.floor(plan.fraction * length));
}

function emptyCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

const CLASSES: readonly RequestClass[] = ['ping', ...EVERY_REQUEST, 'other'];

export async function startFaultProxy(target: ProxyTarget, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const maxFaults = options.maxFaults ?? 1000;
  const stallMs = options.stallMs ?? 3000;
  let rules: { rule: FaultRule; seen: number; fired: number }[] = [];
  let random: { settings: RandomFaults; next: () => number } | undefined;
  const counts = emptyCounts(FAULT_KINDS);
  const requests = emptyCounts(CLASSES);
  const injected: InjectedFault[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let restarting: Promise<void> | undefined;
  let stopped = false;

  const setRules = (next: FaultRule[]): void => {
    rules = next.map((rule) => ({ rule, seen: 0, fired: 0 }));
  };
  const setRandom = (next: RandomFaults | undefined): void => {
    random = next === undefined ? undefined : { settings: next, next: seededRandom(next.seed) };
  };
  setRules(options.rules ?? []);
  setRandom(options.random);

  const total = (): number => injected.length;

  function plan(cls: RequestClass, path: string): Planned | undefined {
    if (total() >= maxFaults) return undefined;
    // Every rule counts every request it matches, so `nth` means the same with or without other rules.
    let chosen: FaultRule | undefined;
    for (const r of rules) {
      const on =
        r.rule.on === undefined ? FAULT_TARGETS[r.rule.kind] : Array.isArray(r.rule.on) ? r.rule.on : [r.rule.on];
      if (!on.includes(cls) || (r.rule.path !== undefined && !r.rule.path.test(path))) continue;
      r.seen++;
      if (chosen !== undefined || r.seen < (r.rule.nth ?? 1) || r.fired >= (r.rule.times ?? 1)) continue;
      r.fired++;
      chosen = r.rule;
    }
    if (chosen !== undefined) {
      return {
        kind: chosen.kind,
        ...(chosen.offset === undefined ? {} : { offset: chosen.offset }),
        fraction: 0.5,
        retryAfterSeconds: chosen.retryAfterSeconds ?? 1,
      };
    }
    if (random === undefined) return undefined;
    const rnd = random.next;
    // Three draws for every request, fault or not, so a seed replays the same faults for the same requests in the same order.
    const roll = rnd();
    const fraction = rnd();
    const pick = rnd();
    if (roll >= random.settings.probability) return undefined;
    const weights = random.settings.weights;
    const candidates = FAULT_KINDS.filter(
      (k) =>
        FAULT_TARGETS[k].includes(cls) &&
        (weights === undefined ? true : (weights[k] ?? 0) > 0) &&
        (k !== 'restart' || target.restart !== undefined),
    );
    const sum = candidates.reduce((s, k) => s + (weights?.[k] ?? 1), 0);
    if (sum <= 0) return undefined;
    let at = pick * sum;
    for (const k of candidates) {
      at -= weights?.[k] ?? 1;
      if (at < 0) return { kind: k, fraction, retryAfterSeconds: 1 };
    }
    return undefined;
  }

  function record(kind: FaultKind, req: IncomingMessage, offset?: number): void {
    counts[kind]++;
    injected.push({ kind, method: req.method ?? '', path: req.url ?? '', ...(offset === undefined ? {} : { offset }) });
  }

  function answer(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: string,
  ): void {
    const send = (): void => {
      if (res.socket?.destroyed === true) return;
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...headers,
      });
      res.end(body);
    };
    // The request body is read first so the connection stays usable for the next request.
    if (req.complete) send();
    else {
      req.on('end', send);
      req.resume();
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const cls = classifyRequest(method, path);
    requests[cls]++;
    const fault = plan(cls, path);
    switch (fault?.kind) {
      case 'too-many-requests':
      case 'too-many-requests-retry-after':
      case 'unavailable':
      case 'unavailable-retry-after':
      case 'upload-500':
      case 'manifest-blob-unknown': {
        record(fault.kind, req);
        const a = STATUS_FAULTS[fault.kind];
        const retry: Record<string, string> = a.retryAfter ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
        answer(req, res, a.status, retry, errorBody(a.code, `injected: ${a.message}`));
        return;
      }
      case 'stall': {
        record(fault.kind, req);
        req.resume();
        const timer = setTimeout(() => {
          timers.delete(timer);
          resetSocket(req.socket);
        }, stallMs);
        timers.add(timer);
        return;
      }
      default:
        forward(req, res, cls, fault);
    }
  }

  function forward(req: IncomingMessage, res: ServerResponse, cls: RequestClass, fault: Planned | undefined): void {
    const client = req.socket;
    const go = (): void => {
      const upstream = httpRequest({
        host: '127.0.0.1',
        port: target.port,
        method: req.method,
        path: req.url,
        headers: forwardHeaders(req.rawHeaders),
        agent: false,
      });
      upstream.on('error', () => resetSocket(client));
      res.once('close', () => upstream.destroy());
      upstream.on('response', (up) => respond(req, res, up, cls, fault, upstream));
      sendBody(req, upstream, fault);
    };
    // Requests wait while the registry restarts, as a client behind a load balancer would.
    if (restarting !== undefined && fault?.kind !== 'restart') void restarting.then(go, go);
    else go();
  }

  function sendBody(req: IncomingMessage, upstream: ReturnType<typeof httpRequest>, fault: Planned | undefined): void {
    const length = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    const breakAt =
      fault?.kind === 'reset-request' || fault?.kind === 'restart' ? bodyOffset(fault, length) : undefined;
    let sent = 0;
    let broken = false;
    const write = (chunk: Buffer): void => {
      if (chunk.length > 0 && !upstream.write(chunk)) {
        req.pause();
        upstream.once('drain', () => req.resume());
      }
    };
    // A reset stops the request there; a restart lets the rest flow into a registry going down.
    const breakNow = (): void => {
      if (broken || fault === undefined) return;
      broken = true;
      record(fault.kind, req, breakAt);
      if (fault.kind === 'restart') {
        restart();
        return;
      }
      upstream.destroy();
      resetSocket(req.socket);
    };
    if (breakAt === 0) breakNow();
    req.on('data', (chunk: Buffer) => {
      if (broken && fault?.kind === 'reset-request') return;
      if (breakAt !== undefined && !broken && sent + chunk.length >= breakAt) {
        const cut = breakAt - sent;
        write(chunk.subarray(0, cut));
        breakNow();
        if (fault?.kind !== 'reset-request') write(chunk.subarray(cut));
      } else write(chunk);
      sent += chunk.length;
    });
    req.on('end', () => {
      if (breakAt !== undefined && !broken) breakNow();
      if (!(broken && fault?.kind === 'reset-request')) upstream.end();
    });
  }

  function restart(): void {
    if (restarting !== undefined || target.restart === undefined) return;
    restarting = target.restart().finally(() => {
      restarting = undefined;
    });
    restarting.catch(() => {});
  }

  function respond(
    req: IncomingMessage,
    res: ServerResponse,
    up: IncomingMessage,
    cls: RequestClass,
    fault: Planned | undefined,
    upstream: ReturnType<typeof httpRequest>,
  ): void {
    const client = req.socket;
    const headers = forwardHeaders(up.rawHeaders);
    const length = up.headers['content-length'] === undefined ? undefined : Number(up.headers['content-length']);
    const hasBody =
      req.method !== 'HEAD' && up.statusCode !== 204 && up.statusCode !== 304 && (length === undefined || length > 0);
    const bodyFault =
      hasBody &&
      (up.statusCode ?? 0) < 300 &&
      (fault?.kind === 'reset-response' ||
        fault?.kind === 'truncate' ||
        fault?.kind === 'stall-body' ||
        (fault?.kind === 'corrupt' && cls === 'blob-get'))
        ? fault
        : undefined;
    const at = bodyFault === undefined ? undefined : bodyOffset(bodyFault, length);
    res.writeHead(up.statusCode ?? 502, headers);
    let sent = 0;
    let fired = false;
    let cutOff = false;
    const write = (chunk: Buffer, then?: () => void): void => {
      if (!res.write(chunk, then === undefined ? undefined : () => then())) {
        up.pause();
        res.once('drain', () => up.resume());
      }
    };
    up.on('data', (chunk: Buffer) => {
      if (cutOff) return;
      if (bodyFault !== undefined && at !== undefined && !fired && sent + chunk.length > at) {
        fired = true;
        record(bodyFault.kind, req, at);
        const cut = at - sent;
        sent += chunk.length;
        if (bodyFault.kind === 'corrupt') {
          const bad = Buffer.from(chunk);
          bad[cut] = (bad[cut] ?? 0) ^ 0xff;
          write(bad);
          return;
        }
        cutOff = true;
        upstream.destroy();
        // Truncation closes cleanly (FIN) after the bytes sent; a reset drops the connection; a stall waits first.
        const after = (): void => {
          if (bodyFault.kind === 'truncate') client.end();
          else if (bodyFault.kind === 'stall-body') {
            const timer = setTimeout(() => {
              timers.delete(timer);
              resetSocket(client);
            }, stallMs);
            timers.add(timer);
          } else resetSocket(client);
        };
        write(chunk.subarray(0, cut), after);
        return;
      }
      sent += chunk.length;
      write(chunk);
    });
    up.on('end', () => {
      if (!cutOff) res.end();
    });
    up.on('error', () => {
      if (!cutOff) resetSocket(client);
    });
  }

  const server = createServer({ keepAliveTimeout: 5000 }, handle);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_e, s: Socket) => resetSocket(s));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  async function settled(): Promise<void> {
    while (restarting !== undefined) await restarting.catch(() => {});
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    host: `127.0.0.1:${port}`,
    port,
    url: `http://127.0.0.1:${port}`,
    counts,
    injected,
    total,
    requests,
    setRules,
    setRandom,
    settled,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await settled();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
