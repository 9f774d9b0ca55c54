/**
 * Real daemons speaking the Docker Engine API, for docker-daemon: tests, each with a private store
 * under a temp dir (never the machine's own):
 * - podman's Docker-compatible service (`podman system service --time=0 unix://SOCKET`, vfs driver,
 *   private `--root`/`--runroot`), always available where podman is;
 * - Docker's own `dockerd` (Debian's docker.io), where it can run: private `--data-root`/`--exec-root`,
 *   vfs, no iptables, no bridge. startDockerd() says why when it cannot start.
 * `images()` and `inspect()` ask the daemon's own CLI (podman, docker) what it holds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { freePort } from './registry.js';
import { type RunResult, run } from './run.js';
import { issueCertificate, makeTestCA } from './test-ca.js';
import { makeTempDir } from './tmp.js';

export interface TestDaemon {
  /** `podman` or `dockerd`, for test titles. */
  name: string;
  /** `unix:///.../X.sock` (or `http://127.0.0.1:PORT` for a podman service on TCP), for `--daemon-host` / DOCKER_HOST. */
  host: string;
  /** dockerd with `tls`: its TLS listener, `tcp://127.0.0.1:PORT`, and a client cert dir (ca.pem, cert.pem, key.pem) for it. */
  tls?: { host: string; certDir: string };
  /** The daemon's own CLI on its store. */
  cli(args: readonly string[]): Promise<RunResult>;
  /** `name:tag ID` of every tagged image, as the daemon's CLI lists them. */
  images(): Promise<string[]>;
  /** ID (config digest) and layer diffIDs of an image, as the daemon's CLI inspects it. */
  inspect(name: string): Promise<{ id: string; diffIDs: string[] }>;
  stop(): Promise<void>;
}

/** Answers /_ping at a unix socket path, or at 127.0.0.1:PORT. */
function ping(at: string | number): Promise<boolean> {
  return new Promise((resolve) => {
    const where = typeof at === 'number' ? { host: '127.0.0.1', port: at } : { socketPath: at };
    const req = http.get({ ...where, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

// Daemons still running, killed (and their dirs removed) if the test process exits without stop().
const running = new Map<ChildProcess, string>();
process.on('exit', () => {
  for (const [child, dir] of running) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Starts `command`, waits until `socket` answers /_ping; on failure kills it and throws with its stderr. */
async function startServing(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  socket: string | number,
  dir: string,
): Promise<{ stop(): Promise<void> }> {
  const child: ChildProcess = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  running.set(child, dir);
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4000);
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  child.on('error', () => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    }
    running.delete(child);
    // vfs layers are plain directories, some read-only.
    await run('chmod', ['-R', 'u+w', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (!(await ping(socket))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`${command} did not start: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { stop };
}

function ok(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`);
  return r;
}

/**
 * `images` and `inspect` of a TestDaemon through its CLI (`program` names it in failures): podman and
 * docker print the same listing; podman's image IDs lack docker's `sha256:` prefix.
 */
function imageQueries(cli: TestDaemon['cli'], program: string): Pick<TestDaemon, 'images' | 'inspect'> {
  return {
    async images() {
      const r = ok(
        await cli(['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']),
        `${program} images`,
      );
      return r.stdout.split('\n').filter((l) => l !== '');
    },
    async inspect(name) {
      const [image] = JSON.parse(ok(await cli(['image', 'inspect', name]), `${program} image inspect`).stdout);
      const id: string = image.Id;
      return { id: id.startsWith('sha256:') ? id : `sha256:${id}`, diffIDs: image.RootFS.Layers };
    },
  };
}

/** podman's service on a unix socket, or (`tcp`) on plain-HTTP 127.0.0.1:PORT. */
export async function startPodmanService(options: { tcp?: boolean } = {}): Promise<TestDaemon> {
  const dir = await makeTempDir('ferry-podman-');
  const port = options.tcp === true ? await freePort() : undefined;
  const socket = path.join(dir, 'podman.sock');
  const listen = port === undefined ? `unix://${socket}` : `tcp://127.0.0.1:${port}`;
  const storeArgs = [
    '--root',
    path.join(dir, 'root'),
    '--runroot',
    path.join(dir, 'runroot'),
    '--storage-driver',
    'vfs',
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
  ];
  await mkdir(path.join(dir, 'tmp'));
  // Podman's own temp files (an uploaded archive) stay in the test's dir too.
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: path.join(dir, 'tmp') };
  delete env.DOCKER_HOST;
  const server = await startServing(
    'podman',
    [...storeArgs, 'system', 'service', '--time=0', listen],
    env,
    port ?? socket,
    dir,
  );
  const cli = (args: readonly string[]) => run('podman', [...storeArgs, ...args], { env });
  return {
    name: 'podman',
    host: port === undefined ? `unix://${socket}` : `http://127.0.0.1:${port}`,
    cli,
    ...imageQueries(cli, 'podman'),
    stop: server.stop,
  };
}

/** dockerd and its CLI from Debian's docker.io (not a docker CLI elsewhere on PATH). */
const DOCKERD = '/usr/sbin/dockerd';
const DOCKER_CLI = '/usr/bin/docker';

/**
 * A throw-away CA, a server certificate for 127.0.0.1 and a client certificate, in docker's file names:
 * `server/` for dockerd (ca.pem, cert.pem, key.pem) and `client/` for a client's cert dir.
 */
async function makeDockerTLS(dir: string): Promise<{ server: string; client: string }> {
  const tls = path.join(dir, 'tls');
  const server = path.join(tls, 'server');
  const client = path.join(tls, 'client');
  await mkdir(server, { recursive: true });
  await mkdir(client, { recursive: true });
  const ca = await makeTestCA('ferry test daemon CA', path.join(tls, 'ca.pem'), path.join(tls, 'ca-key.pem'));
  const issue = async (to: string, cn: string, ext: string[]) => {
    await issueCertificate(ca, cn, ext, path.join(to, 'key.pem'), path.join(to, 'cert.pem'));
    await copyFile(ca.certPath, path.join(to, 'ca.pem'));
  };
  await issue(server, '127.0.0.1', ['extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1']);
  await issue(client, 'ferry client', ['extendedKeyUsage=clientAuth']);
  return { server, client };
}

/** Starts a private dockerd (with `tls`, also on a TLS-verifying TCP port), or throws saying why it cannot run here. */
export async function startDockerd(options: { tls?: boolean } = {}): Promise<TestDaemon> {
  if (!existsSync(DOCKERD) || !existsSync(DOCKER_CLI))
    throw new Error('dockerd is not installed (Debian package docker.io)');
  if (process.getuid?.() !== 0) throw new Error('dockerd needs root');
  const dir = await makeTempDir('ferry-dockerd-');
  const socket = path.join(dir, 'docker.sock');
  const name = path.basename(dir);
  let tlsArgs: string[] = [];
  let tls: TestDaemon['tls'];
  if (options.tls === true) {
    const certs = await makeDockerTLS(dir);
    const port = await freePort();
    tlsArgs = [
      '-H',
      `tcp://127.0.0.1:${port}`,
      '--tlsverify',
      '--tlscacert',
      path.join(certs.server, 'ca.pem'),
      '--tlscert',
      path.join(certs.server, 'cert.pem'),
      '--tlskey',
      path.join(certs.server, 'key.pem'),
    ];
    tls = { host: `tcp://127.0.0.1:${port}`, certDir: certs.client };
  }
  const server = await startServing(
    DOCKERD,
    [
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      path.join(dir, 'exec'),
      '--pidfile',
      path.join(dir, 'docker.pid'),
      '-H',
      `unix://${socket}`,
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--storage-driver=vfs',
      '--containerd-namespace',
      name,
      '--containerd-plugins-namespace',
      `${name}-plugins`,
      ...tlsArgs,
    ],
    process.env,
    socket,
    dir,
  );
  const host = `unix://${socket}`;
  const cli = (args: readonly string[]) => run(DOCKER_CLI, ['-H', host, ...args]);
  return {
    name: 'dockerd',
    host,
    ...(tls === undefined ? {} : { tls }),
    cli,
    ...imageQueries(cli, 'docker'),
    stop: server.stop,
  };
}
