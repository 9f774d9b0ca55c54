/**
 * A real CNCF Distribution registry (`docker-registry serve CONFIG`, Debian package docker-registry)
 * on 127.0.0.1, for integration tests:
 *
 *   const reg = await startRegistry({ auth: 'htpasswd', tls: true });
 *   try {
 *     // skopeo: --dest-cert-dir reg.certDir --dest-creds `${reg.username}:${reg.password}`
 *     // docker://${reg.host}/repo:tag
 *   } finally {
 *     await reg.stop();
 *   }
 *
 * Each call gets its own free port, temp dir (storage, config, log) and, with `tls`, a throw-away
 * CA and a server certificate for IP 127.0.0.1 and DNS localhost. Deletes are enabled. `stop()`
 * sends SIGTERM (the registry ignores SIGINT), waits for the exit and removes the temp dir. If a test
 * process ends without stop(), its registries are killed on exit.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { issueCertificate, makeTestCA } from './test-ca.js';
import { makeTempDir } from './tmp.js';

const execFileAsync = promisify(execFile);

export interface RegistryOptions {
  /**
   * `htpasswd`: Basic auth from a bcrypt htpasswd file (user `testuser`, a random password, unless given below).
   * `token`: Bearer token auth against an issuer the test runs (`token` settings required; see token-server.ts).
   */
  auth?: 'htpasswd' | 'token';
  /** With auth 'htpasswd': the user name (no `:`, as htpasswd requires) instead of `testuser`. */
  username?: string;
  /** With auth 'htpasswd': the password instead of a random one (any characters). */
  password?: string;
  /** With auth 'token': the issuer's realm URL, service and issuer names, and its certificate (PEM). */
  token?: TokenAuthSettings;
  /** https with a throw-away CA (`caPath`, `certDir`). */
  tls?: boolean;
  /** Log every request (Apache combined format) to `logPath`. */
  accessLog?: boolean;
  /** Accept Docker schema1 manifest PUTs (Distribution 2.8 answers 500 to them otherwise). */
  schema1?: boolean;
  /** Accept manifests naming foreign (non-distributable) layers by https URL without the blob (Distribution refuses them by default). */
  foreignLayerURLs?: boolean;
  /** Registry log level (default warn). */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
}

export interface TokenAuthSettings {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundlePath: string;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, for `docker://${host}/repo:tag`. */
  host: string;
  port: number;
  scheme: 'http' | 'https';
  /** `http(s)://127.0.0.1:PORT`. */
  url: string;
  /** The registry's temp dir (config.yml, data/, registry.log, certs/). Removed by stop(). */
  dir: string;
  /** With tls: the CA certificate that signed the server certificate. */
  caPath?: string;
  /** With tls: a dir holding only ca.crt, for skopeo's --cert-dir / --src-cert-dir / --dest-cert-dir. */
  certDir?: string;
  username?: string;
  password?: string;
  logPath: string;
  /**
   * Stops the registry process (SIGTERM, as a crash-free restart would) and starts a new one on the
   * same port with the same config and storage; resolves when `/v2/` answers again.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface ProbeOptions {
  /** CA certificate (PEM) to trust for https; without it only the system CAs are trusted. */
  ca?: string | Buffer;
  username?: string;
  password?: string;
  method?: string;
  timeoutMs?: number;
}

export interface ProbeResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP(S) request to a test server; rejects on connection or TLS errors. */
export function probe(url: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const u = new URL(url);
  const headers: Record<string, string> = {};
  if (options.username !== undefined) {
    headers['authorization'] =
      'Basic ' + Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64');
  }
  return new Promise((resolve, reject) => {
    const common = {
      method: options.method ?? 'GET',
      headers,
      agent: false as const,
      timeout: options.timeoutMs ?? 5000,
    };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, { ...common, ...(options.ca === undefined ? {} : { ca: options.ca }) })
        : httpRequest(u, common);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** A port that was free a moment ago (bind to port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

// Registries still running, killed if the test process exits without stop().
const running = new Map<ChildProcess, string>();
let exitHookInstalled = false;

function killAllSync(): void {
  for (const [child, dir] of running) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  running.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllSync);
}

async function makeTls(dir: string): Promise<{ caPath: string; certDir: string; certPath: string; keyPath: string }> {
  const tls = join(dir, 'tls');
  const certDir = join(dir, 'certs');
  await mkdir(tls);
  await mkdir(certDir);
  const caPath = join(certDir, 'ca.crt');
  const keyPath = join(tls, 'server.key');
  const certPath = join(tls, 'server.crt');
  const ca = await makeTestCA('ferry test CA', caPath, join(tls, 'ca.key'));
  await issueCertificate(
    ca,
    '127.0.0.1',
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    keyPath,
    certPath,
  );
  return { caPath, certDir, certPath, keyPath };
}

interface ConfigInput {
  dir: string;
  port: number;
  marker: string;
  options: RegistryOptions;
  tls?: { certPath: string; keyPath: string };
  htpasswdPath?: string;
}

// Distribution 2.8 configuration (docs/configuration.md). Strings are JSON-quoted (valid YAML).
function configYaml(c: ConfigInput): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    'version: 0.1',
    'log:',
    `  level: ${c.options.logLevel ?? 'warn'}`,
    '  accesslog:',
    `    disabled: ${c.options.accessLog === true ? 'false' : 'true'}`,
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(join(c.dir, 'data'))}`,
    '  delete:',
    '    enabled: true',
    '  cache:',
    '    blobdescriptor: inmemory',
    'http:',
    `  addr: ${q(`127.0.0.1:${c.port}`)}`,
    `  secret: ${q(c.marker)}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    // Lets the readiness check tell this registry from any other process on the same port.
    `    X-Ferry-Test-Registry: [${q(c.marker)}]`,
  ];
  if (c.tls !== undefined) {
    lines.push('  tls:', `    certificate: ${q(c.tls.certPath)}`, `    key: ${q(c.tls.keyPath)}`);
  }
  if (c.options.schema1 === true) lines.push('compatibility:', '  schema1:', '    enabled: true');
  if (c.options.foreignLayerURLs === true) {
    lines.push('validation:', '  manifests:', '    urls:', '      allow:', `        - ${q('^https://')}`);
  }
  if (c.htpasswdPath !== undefined) {
    lines.push('auth:', '  htpasswd:', '    realm: ferry-test', `    path: ${q(c.htpasswdPath)}`);
  }
  const token = c.options.token;
  if (c.options.auth === 'token' && token !== undefined) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${q(token.realm)}`,
      `    service: ${q(token.service)}`,
      `    issuer: ${q(token.issuer)}`,
      `    rootcertbundle: ${q(token.rootCertBundlePath)}`,
    );
  }
  return lines.join('\n') + '\n';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

type StartOutcome = { ok: true } | { ok: false; portTaken: boolean; log: string };

async function startOnce(
  child: ChildProcess,
  url: string,
  marker: string,
  ca: Buffer | undefined,
  logPath: string,
): Promise<StartOutcome> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(logPath, 'utf8').catch(() => '');
      return { ok: false, portTaken: /address already in use/i.test(log), log };
    }
    try {
      const r = await probe(`${url}/v2/`, { ...(ca === undefined ? {} : { ca }), timeoutMs: 1000 });
      if ((r.status === 200 || r.status === 401) && r.headers['x-ferry-test-registry'] === marker) return { ok: true };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  const log = await readFile(logPath, 'utf8').catch(() => '');
  return { ok: false, portTaken: false, log: `/v2/ did not answer within 20 s\n${log}` };
}

/** Starts a registry and waits until `/v2/` answers (200, or 401 with auth). */
export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await makeTempDir('ferry-registry-');
  try {
    await mkdir(join(dir, 'data'));
    const logPath = join(dir, 'registry.log');
    const configPath = join(dir, 'config.yml');
    const marker = randomBytes(12).toString('hex');
    const scheme = options.tls === true ? 'https' : 'http';

    let tls: Awaited<ReturnType<typeof makeTls>> | undefined;
    if (options.tls === true) tls = await makeTls(dir);
    const ca = tls === undefined ? undefined : await readFile(tls.caPath);

    let username: string | undefined;
    let password: string | undefined;
    let htpasswdPath: string | undefined;
    if (options.auth === 'token' && options.token === undefined)
      throw new Error("startRegistry: auth 'token' needs the token settings");
    if (options.auth === 'htpasswd') {
      username = options.username ?? 'testuser';
      password = options.password ?? randomBytes(12).toString('base64url');
      htpasswdPath = join(dir, 'htpasswd');
      const { stdout } = await execFileAsync('htpasswd', ['-Bbn', username, password]);
      await writeFile(htpasswdPath, stdout.trim() + '\n', { mode: 0o600 });
    }

    installExitHook();
    let lastLog = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      await writeFile(configPath, configYaml({ dir, port, marker, options, tls, htpasswdPath }));
      const logFd = openSync(logPath, 'w');
      let child: ChildProcess;
      try {
        child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', logFd, logFd] });
      } finally {
        closeSync(logFd);
      }
      const spawnError = new Promise<StartOutcome>((resolve) =>
        child.once('error', (e) =>
          resolve({ ok: false, portTaken: false, log: `cannot run docker-registry: ${e.message}` }),
        ),
      );
      child.unref();
      running.set(child, dir);
      const url = `${scheme}://127.0.0.1:${port}`;
      const outcome = await Promise.race([startOnce(child, url, marker, ca, logPath), spawnError]);
      if (outcome.ok) {
        let stopped = false;
        const kill = async (): Promise<void> => {
          child.kill('SIGTERM');
          if (!(await waitForExit(child, 5000))) {
            child.kill('SIGKILL');
            await waitForExit(child, 5000);
          }
          running.delete(child);
        };
        return {
          host: `127.0.0.1:${port}`,
          port,
          scheme,
          url,
          dir,
          ...(tls === undefined ? {} : { caPath: tls.caPath, certDir: tls.certDir }),
          ...(username === undefined ? {} : { username, password }),
          logPath,
          async restart(): Promise<void> {
            if (stopped) throw new Error('restart: the registry was stopped');
            await kill();
            const appendFd = openSync(logPath, 'a');
            try {
              child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', appendFd, appendFd] });
            } finally {
              closeSync(appendFd);
            }
            child.unref();
            running.set(child, dir);
            const again = await startOnce(child, url, marker, ca, logPath);
            if (!again.ok) throw new Error(`test registry did not restart on port ${port}:\n${again.log}`);
          },
          async stop(): Promise<void> {
            if (stopped) return;
            stopped = true;
            await kill();
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      child.kill('SIGKILL');
      await waitForExit(child, 5000);
      running.delete(child);
      lastLog = outcome.log;
      if (!outcome.portTaken) break;
    }
    throw new Error(`test registry did not start:\n${lastLog}`);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
